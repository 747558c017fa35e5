//! The matrix tables: rows op/kernel, columns backend × variant (one table per set of columns,
//! so quantized ops with their single f32 column do not pad the float table), then notes and
//! failures with repro lines (and the smaller cases they shrank to, when shrunk).

use std::fmt::Write;

use crate::report::case::ratio;
use crate::report::record::{BackendRecord, CaseNote, CellRecord, CellVerdict, RunRecord};

/// Width of one cell column.
const CELL: usize = 11;
/// Failing cases listed per failing cell.
const FAILURES_PER_CELL: usize = 3;

/// The columns of a table: per backend, its variants.
type Columns = Vec<(String, Vec<String>)>;

/// Renders the run record as the terminal report: backends, tables, legend, n/a reasons,
/// skipped cases, launch notes and failures with repro lines (the record is the one source every
/// format renders from).
pub fn render_matrix(record: &RunRecord) -> String {
    let mut out = backends(record);
    let mut notes: Vec<String> = Vec::new();
    for (columns, rows) in tables(record) {
        out.push_str(&table(record, &columns, &rows, &mut notes));
        out.push('\n');
    }
    writeln!(
        out,
        "PASS x: every case passed; x is the worst err/bound ratio (≤ 1 passes; smaller means more headroom).\n\
                                    PASS exact: every case was judged bit for bit. FIND: a portability finding (see its note). * some cases skipped;\n\
         † launches differ where the kernel does not promise otherwise (every case is also run twice, in smaller launches,\n\
         for causal attention as a prefill chunk and for fused kernels as their unfused pipeline; what is declared is\n\
         judged bit for bit). f16 = f16 packed in u32 and computed in f32; f16n = native f16 storage (WGSL `enable f16;`)."
    )
    .unwrap();
    for (i, note) in notes.iter().enumerate() {
        writeln!(out, "[{}] {note}", i + 1).unwrap();
    }
    out.push_str(&skipped(record));
    out.push_str(&launch_notes(record));
    out.push_str(&failures(record));
    out
}

fn backends(record: &RunRecord) -> String {
    let mut out = String::from("backends\n");
    let width = record
        .backends
        .iter()
        .map(|b| b.name.len())
        .chain(record.missing.iter().map(|m| m.backend.len()))
        .max()
        .unwrap_or(0);
    for b in &record.backends {
        writeln!(
            out,
            "  {:width$}  {} ({}; {})",
            b.name, b.device, b.api, b.driver
        )
        .unwrap();
    }
    for m in &record.missing {
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

/// A backend's columns: its variants in the record's order (or, for a record that does not list
/// them, in order of first appearance among its cells).
fn backend_variants(record: &RunRecord, backend: &BackendRecord) -> Vec<String> {
    if !backend.variants.is_empty() {
        return backend.variants.clone();
    }
    let mut variants: Vec<String> = Vec::new();
    for c in record.cells.iter().filter(|c| c.backend == backend.name) {
        if !variants.contains(&c.variant) {
            variants.push(c.variant.clone());
        }
    }
    variants
}

/// Groups the rows (in order of first appearance) by the columns they have cells in.
fn tables(record: &RunRecord) -> Vec<(Columns, Vec<String>)> {
    let mut rows: Vec<String> = Vec::new();
    for c in &record.cells {
        if !rows.contains(&c.row()) {
            rows.push(c.row());
        }
    }
    let mut groups: Vec<(Columns, Vec<String>)> = Vec::new();
    for row in rows {
        let columns: Columns = record
            .backends
            .iter()
            .map(|b| {
                let present = backend_variants(record, b)
                    .into_iter()
                    .filter(|variant| cell(record, &row, &b.name, variant).is_some());
                (b.name.clone(), present.collect::<Vec<_>>())
            })
            .filter(|(_, variants)| !variants.is_empty())
            .collect();
        match groups.iter_mut().find(|(c, _)| *c == columns) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((columns, vec![row])),
        }
    }
    groups
}

/// The cell of `row` on `backend` in `variant`, if the run has it.
fn cell<'a>(
    record: &'a RunRecord,
    row: &str,
    backend: &str,
    variant: &str,
) -> Option<&'a CellRecord> {
    record
        .cells
        .iter()
        .find(|c| c.backend == backend && c.variant == variant && c.row() == row)
}

fn table(
    record: &RunRecord,
    columns: &Columns,
    rows: &[String],
    notes: &mut Vec<String>,
) -> String {
    let row_width = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(9);
    // A backend's group is as wide as its cells, or its name if that is wider.
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, v)| (v.len() * CELL).max(name.len() + 1))
        .collect();
    let mut header1 = format!("{:row_width$} ", "");
    let mut header2 = format!("{:row_width$} ", "op/kernel");
    for ((name, variants), &width) in columns.iter().zip(&widths) {
        write!(header1, "│ {name:width$}").unwrap();
        let labels: String = variants.iter().map(|v| format!("{v:CELL$}")).collect();
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
    for row in rows {
        let mut line = format!("{row:row_width$} ");
        for ((name, variants), &width) in columns.iter().zip(&widths) {
            let cells: String = variants
                .iter()
                .map(|variant| {
                    let text = cell_text(cell(record, row, name, variant), notes);
                    format!("{text:CELL$}")
                })
                .collect();
            write!(line, "│ {cells:width$}").unwrap();
        }
        writeln!(out, "{}", line.trim_end()).unwrap();
    }
    out
}

fn cell_text(cell: Option<&CellRecord>, notes: &mut Vec<String>) -> String {
    let Some(c) = cell else {
        return "—".into();
    };
    match c.verdict {
        CellVerdict::Pass => {
            let skip_mark = if c.skipped.is_empty() { "" } else { "*" };
            let note_mark = if c.launch_notes.is_empty() { "" } else { "†" };
            let value = if c.exact_only {
                "exact".to_string()
            } else {
                short_ratio(c.worst_ratio)
            };
            format!("PASS {value}{skip_mark}{note_mark}")
        }
        CellVerdict::Fail => "FAIL".into(),
        CellVerdict::Finding => {
            let first = &c.findings[0];
            let note = format!(
                "{} {}: {} ({} of {} cases, e.g. {})",
                c.backend,
                c.variant,
                first.text,
                c.findings.len(),
                c.cases,
                first.case
            );
            format!("FIND[{}]", footnote(notes, note))
        }
        CellVerdict::NotApplicable => {
            let reason = c.reason.as_deref().unwrap_or("not applicable");
            let note = format!("{} {}: {reason}", c.backend, c.variant);
            format!("n/a[{}]", footnote(notes, note))
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

fn skipped(record: &RunRecord) -> String {
    let mut out = String::new();
    for c in &record.cells {
        for note in &c.skipped {
            writeln!(
                out,
                "* {} {} {}: skipped {}: {}",
                c.row(),
                c.backend,
                c.variant,
                note.case,
                note.text
            )
            .unwrap();
        }
    }
    out
}

/// One `†` line per cell whose launches differ where the kernel does not promise otherwise.
fn launch_notes(record: &RunRecord) -> String {
    let mut out = String::new();
    for c in record
        .cells
        .iter()
        .filter(|c| matches!(c.verdict, CellVerdict::Pass | CellVerdict::Finding))
    {
        let mut with_notes: Vec<&str> = c.launch_notes.iter().map(|n| n.case.as_str()).collect();
        with_notes.dedup();
        if let Some(first) = c.launch_notes.first() {
            writeln!(
                out,
                "† {} {} {}: in {} of {} cases a launch differs, e.g. {}: {}",
                c.row(),
                c.backend,
                c.variant,
                with_notes.len(),
                c.cases,
                first.case,
                first.text
            )
            .unwrap();
        }
    }
    out
}

fn failures(record: &RunRecord) -> String {
    let mut out = String::new();
    for c in record
        .cells
        .iter()
        .filter(|c| c.verdict == CellVerdict::Fail)
    {
        if out.is_empty() {
            out.push_str("\nfailures\n");
        }
        writeln!(
            out,
            "FAIL {} on {} {}: {} of {} cases failed",
            c.row(),
            c.backend,
            c.variant,
            c.failures.len(),
            c.cases
        )
        .unwrap();
        for failure in c.failures.iter().take(FAILURES_PER_CELL) {
            writeln!(out, "  {}", failure.text).unwrap();
            writeln!(out, "  repro: {}", repro(failure)).unwrap();
            for s in c
                .shrunk
                .iter()
                .filter(|s| s.from.as_ref() == Some(&failure.case))
            {
                writeln!(out, "    shrunk to {}", s.case).unwrap();
                writeln!(out, "    {}", s.text).unwrap();
                writeln!(out, "    repro: {}", repro(s)).unwrap();
            }
        }
    }
    out
}

/// The note's replay command (a record written without one gets the CLI's).
fn repro(note: &CaseNote) -> String {
    note.repro
        .clone()
        .unwrap_or_else(|| crate::backends::repro_command(&note.case))
}

/// `0.42` for the table (ratios of passing cells are at most 1).
fn short_ratio(r: f64) -> String {
    if r < 0.005 && r > 0.0 {
        "<.01".into()
    } else {
        ratio(r).chars().take(4).collect()
    }
}
