//! The matrix table: rows op/kernel, columns backend × variant, then notes and failures.

use std::fmt::Write;

use crosscheck_kernels::MissingApi;

use crate::report::case::{ratio, summary};
use crate::run::{CellKey, CellStatus, MatrixReport};

/// Width of one cell column.
const CELL: usize = 10;
/// Failing cases listed per failing cell.
const FAILURES_PER_CELL: usize = 3;

/// Renders the report: backends, table, legend, n/a reasons and failures with repro lines.
pub fn render_matrix(report: &MatrixReport, missing: &[MissingApi]) -> String {
    let mut out = String::new();
    writeln!(out, "backends").unwrap();
    let name_width = report
        .backends
        .iter()
        .map(|b| b.name.len())
        .chain(missing.iter().map(|m| m.backend.len()))
        .max()
        .unwrap_or(0);
    for b in &report.backends {
        writeln!(
            out,
            "  {:name_width$}  {} ({}; {})",
            b.name, b.device.device, b.device.api, b.device.driver
        )
        .unwrap();
    }
    for m in missing {
        writeln!(
            out,
            "  {:name_width$}  unavailable: {}\n  {:name_width$}  hint: {}",
            m.backend, m.reason, "", m.hint
        )
        .unwrap();
    }
    writeln!(out).unwrap();

    let row_width = report
        .rows
        .iter()
        .map(|(op, k)| op.name().len() + 1 + k.len())
        .max()
        .unwrap_or(0)
        .max(9);
    let mut notes: Vec<String> = Vec::new();
    let mut header1 = format!("{:row_width$} ", "");
    let mut header2 = format!("{:row_width$} ", "op/kernel");
    for b in &report.backends {
        let width = b.variants.len() * CELL;
        write!(header1, "│ {:width$}", b.name).unwrap();
        write!(header2, "│ ").unwrap();
        for v in &b.variants {
            write!(header2, "{:CELL$}", v.label()).unwrap();
        }
    }
    writeln!(out, "{}", header1.trim_end()).unwrap();
    writeln!(out, "{}", header2.trim_end()).unwrap();
    let rule: String = header2
        .chars()
        .map(|c| if c == '│' { '┼' } else { '─' })
        .collect();
    writeln!(out, "{}", rule.trim_end()).unwrap();
    for (op, kernel) in &report.rows {
        let mut line = format!("{:row_width$} ", format!("{op}/{kernel}"));
        for b in &report.backends {
            write!(line, "│ ").unwrap();
            for &variant in &b.variants {
                let key = CellKey {
                    op: *op,
                    kernel: kernel.clone(),
                    backend: b.name.clone(),
                    variant,
                };
                let text = match report.cell(&key) {
                    None => "—".to_string(),
                    Some(CellStatus::Pass {
                        worst_ratio,
                        skipped,
                        ..
                    }) => {
                        let mark = if skipped.is_empty() { "" } else { "*" };
                        format!("PASS {}{mark}", short_ratio(*worst_ratio))
                    }
                    Some(CellStatus::Fail { .. }) => "FAIL".to_string(),
                    Some(CellStatus::NotApplicable(reason)) => {
                        let note = format!("{} {}: {reason}", b.name, variant.label());
                        let n = match notes.iter().position(|r| *r == note) {
                            Some(i) => i + 1,
                            None => {
                                notes.push(note);
                                notes.len()
                            }
                        };
                        format!("n/a[{n}]")
                    }
                };
                write!(line, "{text:CELL$}").unwrap();
            }
        }
        writeln!(out, "{}", line.trim_end()).unwrap();
    }
    writeln!(out).unwrap();
    writeln!(
        out,
        "PASS x: every case passed; x is the worst err/bound ratio (≤ 1 passes; smaller means more headroom).\n\
         f16 = f16 packed in u32 and computed in f32; f16n = native f16 storage (WGSL `enable f16;`)."
    )
    .unwrap();
    for (i, note) in notes.iter().enumerate() {
        writeln!(out, "n/a[{}] {note}", i + 1).unwrap();
    }
    for (key, status) in &report.cells {
        if let CellStatus::Pass { skipped, .. } | CellStatus::Fail { skipped, .. } = status {
            for (case, reason) in skipped {
                writeln!(
                    out,
                    "* {} {} {}: skipped {case}: {reason}",
                    key.row(),
                    key.backend,
                    key.variant
                )
                .unwrap();
            }
        }
    }
    let failing: Vec<_> = report.cells.iter().filter(|(_, s)| s.failed()).collect();
    if !failing.is_empty() {
        writeln!(out, "\nfailures").unwrap();
    }
    for (key, status) in failing {
        let CellStatus::Fail {
            cases, failures, ..
        } = status
        else {
            continue;
        };
        writeln!(
            out,
            "FAIL {} on {} {}: {} of {cases} cases failed",
            key.row(),
            key.backend,
            key.variant,
            failures.len()
        )
        .unwrap();
        for (case, verdict) in failures.iter().take(FAILURES_PER_CELL) {
            writeln!(out, "  {}", summary(case, verdict)).unwrap();
            writeln!(out, "  repro: crosscheck repro {case}").unwrap();
        }
    }
    out
}

/// `0.42` for the table (ratios of passing cells are at most 1).
fn short_ratio(r: f64) -> String {
    if r < 0.005 && r > 0.0 {
        "<.01".into()
    } else {
        ratio(r).chars().take(4).collect()
    }
}
