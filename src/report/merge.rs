//! `crosscheck merge`: run records from several machines (or shards of one matrix) combined into
//! one portability matrix — rows op/kernel × variant, a column per machine/backend — with the
//! rows whose verdicts disagree flagged. Malformed, foreign or incompatible files are rejected
//! with the file's name and the reason.

use serde::{Deserialize, Serialize};

use crosscheck_spec::{Op, Variant};

use crate::report::record::{CellRecord, CellVerdict, PlanRecord, RunRecord};

/// Value of the `schema` field of a merged matrix.
pub const MERGE_SCHEMA: &str = "crosscheck-merge";
/// Version of the merged matrix's layout.
pub const MERGE_SCHEMA_VERSION: u32 = 1;

/// Several runs as one matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedMatrix {
    /// Always [`MERGE_SCHEMA`].
    pub schema: String,
    /// Always [`MERGE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The files merged, in order.
    pub inputs: Vec<MergedInput>,
    /// Column labels, `machine/backend`.
    pub columns: Vec<String>,
    /// Rows in order of first appearance.
    pub rows: Vec<MergedRow>,
}

/// One merged file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedInput {
    /// Path as given.
    pub file: String,
    /// Machine it came from.
    pub machine: String,
    /// crosscheck version that wrote it.
    pub crosscheck_version: String,
    /// Its plan.
    pub plan: PlanRecord,
    /// Its shard, if it was one.
    pub shard: Option<String>,
    /// Backends it ran, with devices.
    pub backends: Vec<String>,
}

/// One row: an op/kernel in one variant, across every column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedRow {
    /// Op family.
    pub op: String,
    /// Kernel.
    pub kernel: String,
    /// Variant label.
    pub variant: String,
    /// Per column, the cell if that column ran it.
    pub cells: Vec<Option<CellRecord>>,
    /// The columns that ran this row did not all reach the same verdict (n/a aside).
    pub disagree: bool,
}

impl MergedRow {
    /// `op/kernel variant`.
    pub fn label(&self) -> String {
        format!("{}/{} {}", self.op, self.kernel, self.variant)
    }
}

impl MergedMatrix {
    /// Rows whose verdicts disagree.
    pub fn disagreements(&self) -> impl Iterator<Item = &MergedRow> {
        self.rows.iter().filter(|r| r.disagree)
    }

    /// True when a merged cell failed or verdicts disagree.
    pub fn failed(&self) -> bool {
        self.disagreements().next().is_some()
            || self
                .rows
                .iter()
                .flat_map(|r| r.cells.iter().flatten())
                .any(|c| c.verdict == CellVerdict::Fail)
    }

    /// Notes on what makes the inputs less than comparable (different seeds, plans, versions).
    pub fn caveats(&self) -> Vec<String> {
        let mut out = Vec::new();
        let first = &self.inputs[0];
        for input in &self.inputs[1..] {
            if input.plan != first.plan {
                out.push(format!(
                    "{} ran seed {:#x} with {} random cases, {} ran seed {:#x} with {}: the cells saw different cases",
                    first.file, first.plan.seed, first.plan.random_cases, input.file, input.plan.seed, input.plan.random_cases
                ));
            }
            if input.crosscheck_version != first.crosscheck_version {
                out.push(format!(
                    "{} was written by crosscheck {}, {} by {}",
                    first.file, first.crosscheck_version, input.file, input.crosscheck_version
                ));
            }
        }
        out
    }
}

/// Merges `(file name, file text)` pairs. Errors name the file and what is wrong with it.
pub fn merge(files: &[(String, String)]) -> Result<MergedMatrix, String> {
    if files.is_empty() {
        return Err(
            "nothing to merge: give at least one JSON record from `crosscheck run --format json`"
                .into(),
        );
    }
    let mut records = Vec::new();
    for (file, text) in files {
        let record = RunRecord::from_json(text).map_err(|e| format!("{file}: {e}"))?;
        records.push((file.clone(), record));
    }
    let mut matrix = MergedMatrix {
        schema: MERGE_SCHEMA.into(),
        schema_version: MERGE_SCHEMA_VERSION,
        inputs: Vec::new(),
        columns: Vec::new(),
        rows: Vec::new(),
    };
    // Where each (column, row) came from, to name both files of a duplicate.
    let mut origin: Vec<(usize, usize, String)> = Vec::new();
    for (file, record) in &records {
        matrix.inputs.push(MergedInput {
            file: file.clone(),
            machine: record.machine.name.clone(),
            crosscheck_version: record.crosscheck_version.clone(),
            plan: record.plan.clone(),
            shard: record.selection.shard.clone(),
            backends: record
                .backends
                .iter()
                .map(|b| format!("{}: {} ({})", b.name, b.device, b.driver))
                .collect(),
        });
        for cell in &record.cells {
            let column = format!("{}/{}", record.machine.name, cell.backend);
            let col = index_of(&mut matrix.columns, column.clone());
            let row = match matrix.rows.iter().position(|r| {
                r.op == cell.op && r.kernel == cell.kernel && r.variant == cell.variant
            }) {
                Some(i) => i,
                None => {
                    matrix.rows.push(MergedRow {
                        op: cell.op.clone(),
                        kernel: cell.kernel.clone(),
                        variant: cell.variant.clone(),
                        cells: Vec::new(),
                        disagree: false,
                    });
                    matrix.rows.len() - 1
                }
            };
            if let Some((_, _, other)) = origin.iter().find(|(c, r, _)| *c == col && *r == row) {
                return Err(format!(
                    "{} {} on {column} is in both {other} and {file}: each machine/backend may report a \
                     cell once (give machines distinct names with `crosscheck run --machine NAME`)",
                    cell.row(),
                    cell.variant
                ));
            }
            origin.push((col, row, file.clone()));
            let cells = &mut matrix.rows[row].cells;
            cells.resize(cells.len().max(col + 1), None);
            cells[col] = Some(cell.clone());
        }
    }
    let width = matrix.columns.len();
    for row in &mut matrix.rows {
        row.cells.resize(width, None);
        let mut verdicts: Vec<CellVerdict> = row
            .cells
            .iter()
            .flatten()
            .map(|c| c.verdict)
            .filter(|v| *v != CellVerdict::NotApplicable)
            .collect();
        verdicts.dedup();
        verdicts.sort_by_key(|v| *v as u8);
        verdicts.dedup();
        row.disagree = verdicts.len() > 1;
    }
    // Ops in matrix order, kernels as they came, variants in column order.
    let variant_rank = |v: &str| v.parse::<Variant>().ok();
    let op_rank = |op: &str| op.parse::<Op>().ok();
    let kernels: Vec<(String, String)> = matrix
        .rows
        .iter()
        .map(|r| (r.op.clone(), r.kernel.clone()))
        .collect();
    let kernel_rank = |r: &MergedRow| {
        kernels
            .iter()
            .position(|(o, k)| *o == r.op && *k == r.kernel)
    };
    matrix
        .rows
        .sort_by_key(|r| (op_rank(&r.op), kernel_rank(r), variant_rank(&r.variant)));
    Ok(matrix)
}

fn index_of(list: &mut Vec<String>, item: String) -> usize {
    list.iter().position(|x| *x == item).unwrap_or_else(|| {
        list.push(item);
        list.len() - 1
    })
}

/// The merged matrix as text: inputs, the grid (`≠` marks disagreeing rows), disagreements with
/// their repro ids, and caveats.
pub fn render_merged_text(matrix: &MergedMatrix) -> String {
    let mut out = String::from("inputs\n");
    for input in &matrix.inputs {
        out.push_str(&format!(
            "  {} — machine {}, crosscheck {}, seed {:#x}{}\n",
            input.file,
            input.machine,
            input.crosscheck_version,
            input.plan.seed,
            input
                .shard
                .as_ref()
                .map_or(String::new(), |s| format!(", shard {s}"))
        ));
        for b in &input.backends {
            out.push_str(&format!("    {b}\n"));
        }
    }
    out.push('\n');
    let label_width = matrix
        .rows
        .iter()
        .map(|r| r.label().len())
        .max()
        .unwrap_or(0)
        .max(9)
        + 2;
    let widths: Vec<usize> = matrix.columns.iter().map(|c| c.len().max(10)).collect();
    out.push_str(&format!("{:label_width$}", "cell"));
    for (c, w) in matrix.columns.iter().zip(&widths) {
        out.push_str(&format!(" │ {c:w$}"));
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    for row in &matrix.rows {
        let mark = if row.disagree { "≠ " } else { "  " };
        out.push_str(&format!("{mark}{:w$}", row.label(), w = label_width - 2));
        for (cell, w) in row.cells.iter().zip(&widths) {
            let text = cell.as_ref().map_or("—".to_string(), |c| c.short());
            out.push_str(&format!(" │ {text:w$}"));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out.push_str(&disagreement_lines(matrix));
    for caveat in matrix.caveats() {
        out.push_str(&format!("note: {caveat}\n"));
    }
    out.push_str(&format!(
        "{} rows × {} columns from {} files; {} rows disagree\n",
        matrix.rows.len(),
        matrix.columns.len(),
        matrix.inputs.len(),
        matrix.disagreements().count()
    ));
    out
}

/// The merged matrix as Markdown.
pub fn render_merged_markdown(matrix: &MergedMatrix) -> String {
    let mut out = format!(
        "## crosscheck portability matrix\n\n{} files, {} columns; {} rows disagree\n\n",
        matrix.inputs.len(),
        matrix.columns.len(),
        matrix.disagreements().count()
    );
    let cells: Vec<(String, String, String)> = matrix
        .rows
        .iter()
        .flat_map(|row| {
            let label = format!("{}{}", row.label(), if row.disagree { " ≠" } else { "" });
            matrix
                .columns
                .iter()
                .zip(&row.cells)
                .filter_map(move |(col, cell)| {
                    cell.as_ref()
                        .map(|c| (label.clone(), col.clone(), c.short()))
                })
        })
        .collect();
    out.push_str(&crate::report::markdown::grid_markdown(&cells));
    let lines = disagreement_lines(matrix);
    if !lines.is_empty() {
        out.push_str("### Disagreements\n\n```\n");
        out.push_str(&lines);
        out.push_str("```\n");
    }
    for caveat in matrix.caveats() {
        out.push_str(&format!("\n> note: {caveat}\n"));
    }
    out
}

/// One block per disagreeing row: each column's verdict and, for failures, a repro id.
fn disagreement_lines(matrix: &MergedMatrix) -> String {
    let mut out = String::new();
    for row in matrix.disagreements() {
        out.push_str(&format!("≠ {}:\n", row.label()));
        for (col, cell) in matrix.columns.iter().zip(&row.cells) {
            let Some(cell) = cell else { continue };
            let example = cell
                .failures
                .first()
                .or(cell.findings.first())
                .map_or(String::new(), |n| format!(" e.g. {}", n.case));
            out.push_str(&format!("    {col}: {}{example}\n", cell.short()));
        }
    }
    out
}
