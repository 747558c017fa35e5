//! Reports: the matrix table, the description of a single case, and the machine-readable forms
//! of a run (the versioned JSON record, JUnit XML, Markdown) that CI and `crosscheck merge` use.

pub mod case;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod record;
pub mod table;

pub use case::{describe_case, element_label};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use merge::{MergedMatrix, merge};
pub use record::RunRecord;
pub use table::render_matrix;
