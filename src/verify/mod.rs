//! Verification at scale: checking a large matmul without the O(M·N·K) f64 oracle.

pub mod freivalds;
pub mod large;

pub use freivalds::{FreivaldsPlan, FreivaldsVerdict, verify_matmul};
