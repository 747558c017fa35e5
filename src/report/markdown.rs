//! Markdown from a run record, for pull-request comments: a headline verdict, one table per op
//! (rows kernels, columns backend × variant), then failures with repro commands, findings and
//! n/a reasons.

use std::fmt::Write;

use crate::report::record::{CellRecord, CellVerdict, RunRecord};

/// Failing cases shown per failing cell.
const FAILURES_SHOWN: usize = 3;

/// The record as GitHub-flavoured Markdown.
pub fn render_markdown(record: &RunRecord) -> String {
    let s = &record.summary;
    let headline = if record.failed() {
        "❌ FAIL"
    } else {
        "✅ PASS"
    };
    let mut out = format!(
        "## crosscheck {headline}\n\n{} cells, {} cases: {} pass, {} fail, {} finding, {} n/a \
         — machine `{}`, seed `{:#x}`, {:.1} s\n\n",
        s.cells,
        s.cases,
        s.pass,
        s.fail,
        s.finding,
        s.not_applicable,
        record.machine.name,
        record.plan.seed,
        record.elapsed_s
    );
    if let Some(why) = &s.required_missing {
        writeln!(out, "**{}**\n", escape(why)).unwrap();
    }
    out.push_str("| backend | device | driver |\n|---|---|---|\n");
    for b in &record.backends {
        writeln!(
            out,
            "| {} | {} | {} |",
            b.name,
            escape(&b.device),
            escape(&b.driver)
        )
        .unwrap();
    }
    for m in &record.missing {
        writeln!(
            out,
            "| {} | unavailable: {} | |",
            m.backend,
            escape(&m.reason)
        )
        .unwrap();
    }
    out.push('\n');
    let cells: Vec<(String, String, String)> = record
        .cells
        .iter()
        .map(|c| (c.row(), format!("{} {}", c.backend, c.variant), c.short()))
        .collect();
    out.push_str(&grid_markdown(&cells));
    out.push_str(
        "\nPASS x: worst err/bound ratio (≤ 1 passes). PASS exact: judged bit for bit. \
         FIND: portability finding. n/a: not applicable here.\n",
    );
    details(&mut out, record, "Failures", CellVerdict::Fail, |c| {
        c.failures
            .iter()
            .take(FAILURES_SHOWN)
            .map(|f| {
                format!(
                    "{}\n  `{}`",
                    escape(&f.text),
                    crate::backends::repro_command(&f.case)
                )
            })
            .collect()
    });
    details(
        &mut out,
        record,
        "Portability findings",
        CellVerdict::Finding,
        |c| {
            c.findings
                .iter()
                .take(1)
                .map(|f| {
                    format!(
                        "{} of {} cases, e.g. `{}`: {}",
                        c.findings.len(),
                        c.cases,
                        f.case,
                        escape(&f.text)
                    )
                })
                .collect()
        },
    );
    details(
        &mut out,
        record,
        "Not applicable",
        CellVerdict::NotApplicable,
        |c| vec![escape(c.reason.as_deref().unwrap_or(""))],
    );
    out
}

/// One section listing the cells with `verdict`, each with the lines `describe` gives.
fn details(
    out: &mut String,
    record: &RunRecord,
    title: &str,
    verdict: CellVerdict,
    describe: impl Fn(&CellRecord) -> Vec<String>,
) {
    let cells: Vec<&CellRecord> = record
        .cells
        .iter()
        .filter(|c| c.verdict == verdict)
        .collect();
    if cells.is_empty() {
        return;
    }
    writeln!(out, "\n### {title}\n").unwrap();
    for c in cells {
        for line in describe(c) {
            writeln!(out, "- **{} {} {}**: {line}", c.row(), c.backend, c.variant).unwrap();
        }
    }
}

/// Markdown tables from (row, column, text) triples: one table per op (the part of the row
/// label before `/`), columns in order of first appearance, `—` where a row has no such cell.
pub fn grid_markdown(cells: &[(String, String, String)]) -> String {
    let mut out = String::new();
    let mut ops: Vec<&str> = Vec::new();
    for (row, _, _) in cells {
        let op = row.split('/').next().unwrap_or(row);
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    for op in ops {
        let in_op: Vec<&(String, String, String)> = cells
            .iter()
            .filter(|(row, _, _)| row.split('/').next() == Some(op))
            .collect();
        let mut rows: Vec<&str> = Vec::new();
        let mut columns: Vec<&str> = Vec::new();
        for (row, column, _) in &in_op {
            if !rows.contains(&row.as_str()) {
                rows.push(row);
            }
            if !columns.contains(&column.as_str()) {
                columns.push(column);
            }
        }
        writeln!(out, "| {op} | {} |", columns.join(" | ")).unwrap();
        writeln!(out, "|---|{}", "---|".repeat(columns.len())).unwrap();
        for row in rows {
            let texts: Vec<&str> = columns
                .iter()
                .map(|col| {
                    in_op
                        .iter()
                        .find(|(r, c, _)| r == row && c == col)
                        .map_or("—", |(_, _, t)| t.as_str())
                })
                .collect();
            let kernel = row.split_once('/').map_or(row, |(_, k)| k);
            writeln!(out, "| {kernel} | {} |", texts.join(" | ")).unwrap();
        }
        out.push('\n');
    }
    out
}

/// Escapes the characters that break a Markdown table cell or list item.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
