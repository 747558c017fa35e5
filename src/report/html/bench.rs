//! The bench page: rooflines, performance portability and every timing, drawn from the bench
//! record, with the bench's SVG plots inline.

use crate::bench::BenchReport;
use crate::report::html::{Page, escape};

const SCRIPT: &str = include_str!("bench.js");

/// The bench record as one self-contained HTML page: measured rooflines, Pennycook's
/// performance-portability table, every timed workload with its roofline fraction (filterable),
/// the err/bound distribution, and `plots` — (caption, SVG document) pairs, such as the bench's
/// GFLOP/s-against-size and accuracy plots — inline.
pub fn render_bench_html(report: &BenchReport, plots: &[(String, String)]) -> String {
    let mut after = String::new();
    if !plots.is_empty() {
        after.push_str("<section class=\"plots\"><h2>Plots</h2>\n");
        for (caption, svg) in plots {
            after.push_str(&format!(
                "<figure>{}<figcaption>{}</figcaption></figure>\n",
                inline_svg(svg),
                escape(caption)
            ));
        }
        after.push_str("</section>\n");
    }
    Page {
        title: &format!("crosscheck bench on {}", report.machine),
        record: serde_json::to_string(report).expect("the bench record serialises"),
        before: String::new(),
        after,
        script: SCRIPT,
    }
    .render()
}

/// An SVG document as markup for inside HTML: from its `<svg` on (no XML declaration or
/// doctype), and nothing that is not an `<svg>` element at all.
fn inline_svg(document: &str) -> String {
    match document.find("<svg") {
        Some(start) => document[start..].trim_end().to_string(),
        None => String::new(),
    }
}
