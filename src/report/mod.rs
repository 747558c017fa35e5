//! Human-readable reports: the matrix table and the description of a single case.

pub mod case;
pub mod table;

pub use case::{describe_case, element_label};
pub use table::render_matrix;
