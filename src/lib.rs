//! crosscheck harness (under construction).
