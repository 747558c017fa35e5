//! The matrix tables: rows op/kernel, columns backend × variant (one table per set of columns,
//! so quantized ops with their single f32 column do not pad the float table), then notes and
//! failures with repro lines (and the smaller cases they shrank to, when shrunk).

use std::fmt::Write;

use crosscheck_kernels::MissingApi;
use crosscheck_spec::{Op, Variant};

use crate::case::Case;
use crate::report::case::{ratio, summary};
use crate::run::{CellKey, CellStatus, MatrixReport};

/// Width of one cell column.
const CELL: usize = 11;
/// Failing cases listed per failing cell.
const FAILURES_PER_CELL: usize = 3;

/// The columns of a table: per backend, its variants.
type Columns = Vec<(String, Vec<Variant>)>;

/// Renders the report: backends, tables, legend, n/a reasons and failures with repro lines.
pub fn render_matrix(report: &MatrixReport, missing: &[MissingApi]) -> String {
    let mut out = backends(report, missing);
    let mut notes: Vec<String> = Vec::new();
    for (columns, rows) in tables(report) {
        out.push_str(&table(report, &columns, &rows, &mut notes));
        out.push('\n');
    }
    writeln!(
        out,
        "PASS x: every case passed; x is the worst err/bound ratio (≤ 1 passes; smaller means more headroom).\n\
                                    PASS exact: every case was judged bit for bit. FIND: a portability finding (see its note). * some cases skipped;\n\
         † launches differ where the kernel does not promise otherwise (every case is also run twice and in smaller launches;\n\
         declared determinism and batch invariance are judged bit for bit). f16 = f16 packed in u32 and computed in f32;\n\
         f16n = native f16 storage (WGSL `enable f16;`)."
    )
    .unwrap();
    for (i, note) in notes.iter().enumerate() {
        writeln!(out, "[{}] {note}", i + 1).unwrap();
    }
    out.push_str(&skipped(report));
    out.push_str(&launch_notes(report));
    out.push_str(&failures(report));
    out
}

fn backends(report: &MatrixReport, missing: &[MissingApi]) -> String {
    let mut out = String::from("backends\n");
    let width = report
        .backends
        .iter()
        .map(|b| b.name.len())
        .chain(missing.iter().map(|m| m.backend.len()))
        .max()
        .unwrap_or(0);
    for b in &report.backends {
        writeln!(
            out,
            "  {:width$}  {} ({}; {})",
            b.name, b.device.device, b.device.api, b.device.driver
        )
        .unwrap();
    }
    for m in missing {
        writeln!(
            out,
            "  {:width$}  unavailable: {}\n  {:width$}  hint: {}",
            m.backend, m.reason, "", m.hint
        )
        .unwrap();
    }
    out.push('\n');
    out
}

/// Groups the rows by the columns they have cells in, in order of first appearance.
fn tables(report: &MatrixReport) -> Vec<(Columns, Vec<(Op, String)>)> {
    let mut groups: Vec<(Columns, Vec<(Op, String)>)> = Vec::new();
    for (op, kernel) in &report.rows {
        let columns: Columns = report
            .backends
            .iter()
            .map(|b| {
                let present = b.variants.iter().copied().filter(|&variant| {
                    report
                        .cell(&CellKey {
                            op: *op,
                            kernel: kernel.clone(),
                            backend: b.name.clone(),
                            variant,
                        })
                        .is_some()
                });
                (b.name.clone(), present.collect::<Vec<_>>())
            })
            .filter(|(_, variants)| !variants.is_empty())
            .collect();
        match groups.iter_mut().find(|(c, _)| *c == columns) {
            Some((_, rows)) => rows.push((*op, kernel.clone())),
            None => groups.push((columns, vec![(*op, kernel.clone())])),
        }
    }
    groups
}

fn table(
    report: &MatrixReport,
    columns: &Columns,
    rows: &[(Op, String)],
    notes: &mut Vec<String>,
) -> String {
    let row_width = rows
        .iter()
        .map(|(op, k)| op.name().len() + 1 + k.len())
        .max()
        .unwrap_or(0)
        .max(9);
    // A backend's group is as wide as its cells, or its name if that is wider.
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, v)| (v.len() * CELL).max(name.len() + 1))
        .collect();
    let mut header1 = format!("{:row_width$} ", "");
    let mut header2 = format!("{:row_width$} ", "op/kernel");
    for ((name, variants), &width) in columns.iter().zip(&widths) {
        write!(header1, "│ {name:width$}").unwrap();
        let labels: String = variants
            .iter()
            .map(|v| format!("{:CELL$}", v.label()))
            .collect();
        write!(header2, "│ {labels:width$}").unwrap();
    }
    let mut out = String::new();
    writeln!(out, "{}", header1.trim_end()).unwrap();
    writeln!(out, "{}", header2.trim_end()).unwrap();
    let rule: String = header2
        .chars()
        .map(|c| if c == '│' { '┼' } else { '─' })
        .collect();
    writeln!(out, "{}", rule.trim_end()).unwrap();
    for (op, kernel) in rows {
        let mut line = format!("{:row_width$} ", format!("{op}/{kernel}"));
        for ((name, variants), &width) in columns.iter().zip(&widths) {
            let cells: String = variants
                .iter()
                .map(|&variant| {
                    let key = CellKey {
                        op: *op,
                        kernel: kernel.clone(),
                        backend: name.clone(),
                        variant,
                    };
                    format!(
                        "{:CELL$}",
                        cell_text(report.cell(&key), name, variant, notes)
                    )
                })
                .collect();
            write!(line, "│ {cells:width$}").unwrap();
        }
        writeln!(out, "{}", line.trim_end()).unwrap();
    }
    out
}

fn cell_text(
    status: Option<&CellStatus>,
    backend: &str,
    variant: Variant,
    notes: &mut Vec<String>,
) -> String {
    match status {
        None => "—".into(),
        Some(CellStatus::Pass {
            worst_ratio,
            exact_only,
            skipped,
            notes,
            ..
        }) => {
            let skip_mark = if skipped.is_empty() { "" } else { "*" };
            let note_mark = if notes.is_empty() { "" } else { "†" };
            let mark = format!("{skip_mark}{note_mark}");
            let value = if *exact_only {
                "exact".to_string()
            } else {
                short_ratio(*worst_ratio)
            };
            format!("PASS {value}{mark}")
        }
        Some(CellStatus::Fail { .. }) => "FAIL".into(),
        Some(CellStatus::Finding {
            cases, findings, ..
        }) => {
            let (case, what) = &findings[0];
            let note = format!(
                "{backend} {}: {what} ({} of {cases} cases, e.g. {case})",
                variant.label(),
                findings.len()
            );
            format!("FIND[{}]", footnote(notes, note))
        }
        Some(CellStatus::NotApplicable(reason)) => {
            format!(
                "n/a[{}]",
                footnote(notes, format!("{backend} {}: {reason}", variant.label()))
            )
        }
    }
}

/// The number of `note` among the footnotes, adding it if new.
fn footnote(notes: &mut Vec<String>, note: String) -> usize {
    notes.iter().position(|r| *r == note).unwrap_or_else(|| {
        notes.push(note);
        notes.len() - 1
    }) + 1
}

fn skipped(report: &MatrixReport) -> String {
    let mut out = String::new();
    for (key, status) in &report.cells {
        if let CellStatus::Pass { skipped, .. }
        | CellStatus::Fail { skipped, .. }
        | CellStatus::Finding { skipped, .. } = status
        {
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
    out
}

/// One `†` line per cell whose launches differ where the kernel does not promise otherwise.
fn launch_notes(report: &MatrixReport) -> String {
    let mut out = String::new();
    for (key, status) in &report.cells {
        if let CellStatus::Pass { cases, notes, .. } | CellStatus::Finding { cases, notes, .. } =
            status
        {
            let mut with_notes: Vec<&Case> = notes.iter().map(|(case, _)| case).collect();
            with_notes.dedup();
            if let Some((case, note)) = notes.first() {
                writeln!(
                    out,
                    "† {} {} {}: in {} of {cases} cases a launch differs, e.g. {case}: {note}",
                    key.row(),
                    key.backend,
                    key.variant,
                    with_notes.len()
                )
                .unwrap();
            }
        }
    }
    out
}

fn failures(report: &MatrixReport) -> String {
    let mut out = String::new();
    for (key, status) in &report.cells {
        let CellStatus::Fail {
            cases,
            failures,
            shrunk,
            ..
        } = status
        else {
            continue;
        };
        if out.is_empty() {
            out.push_str("\nfailures\n");
        }
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
            writeln!(
                out,
                "  repro: {}",
                crate::backends::repro_command(&case.id())
            )
            .unwrap();
            for s in shrunk.iter().filter(|s| s.original == *case) {
                writeln!(out, "    shrunk to {}", s.case).unwrap();
                writeln!(out, "    {}", summary(&s.case, &s.verdict)).unwrap();
                let repro = crate::backends::repro_command(&s.case.id());
                writeln!(out, "    repro: {repro}").unwrap();
            }
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
