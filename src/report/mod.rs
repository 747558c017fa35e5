//! Reports: the matrix table, the description of a single case, and the other forms of a run
//! (the versioned JSON record that CI and `crosscheck merge` use, JUnit XML, Markdown, and a
//! self-contained HTML page).

pub mod case;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod record;
pub mod table;

pub use case::{describe_case, element_label};
pub use html::{render_bench_html, render_merged_html, render_run_html};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use merge::{MergedMatrix, merge};
pub use record::RunRecord;
pub use table::render_matrix;
