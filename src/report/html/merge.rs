//! The merged page: several runs as one portability matrix, drawn from the merged record.

use crate::report::html::{Page, escape};
use crate::report::merge::MergedMatrix;

const SCRIPT: &str = include_str!("merge.js");

/// The merged matrix as one self-contained HTML page: the inputs, one column per machine/backend,
/// rows whose verdicts disagree highlighted and listed with each column's failing case ids, the
/// same filters and cell detail as the run page, and the merge's caveats (different seeds or
/// versions). `#cell=op/kernel:machine/backend:variant` opens a cell's detail.
pub fn render_merged_html(matrix: &MergedMatrix) -> String {
    let caveats: String = matrix
        .caveats()
        .iter()
        .map(|c| format!("<p class=\"caveat\">note: {}</p>\n", escape(c)))
        .collect();
    Page {
        title: "crosscheck portability matrix",
        record: serde_json::to_string(matrix).expect("the matrix serialises"),
        before: caveats,
        after: String::new(),
        script: SCRIPT,
    }
    .render()
}
