//! The run page: the matrix of one run with every cell's detail, drawn from the run record.

use crate::report::html::Page;
use crate::report::record::RunRecord;

const SCRIPT: &str = include_str!("run.js");

/// The run record as one self-contained HTML page: the headline and backends, the matrix (cells
/// coloured and labelled by verdict, filterable by op, kernel, backend and precision), and per
/// cell a detail view (cases, worst elements, the err/bound histogram, statistics, failing case
/// ids with repro commands, findings, n/a reasons, launch notes). `#cell=op/kernel:backend:variant`
/// in the URL opens a cell's detail.
pub fn render_run_html(record: &RunRecord) -> String {
    Page {
        title: &format!("crosscheck run on {}", record.machine.name),
        record: serde_json::to_string(record).expect("the record serialises"),
        before: String::new(),
        after: String::new(),
        script: SCRIPT,
    }
    .render()
}
