//! `crosscheck run` (the default): the conformance matrix, with a progress bar, written as a
//! table, JSON record, JUnit XML, Markdown or an HTML page; `--list` shows the cells without running them.

use std::process::ExitCode;

use crosscheck::report::record::{MissingRecord, RunContext, Selection};
use crosscheck::report::{
    RunRecord, render_junit, render_markdown, render_matrix, render_run_html,
};
use crosscheck::run::matrix::cell_slots;
use crosscheck::run::{CellKey, shrink};
use crosscheck::{Plan, registry, run_matrix};

use crate::commands::output::{Destination, Format, OutputArgs, emit};
use crate::commands::shard::Shard;
use crate::commands::{Bar, CellArgs, MemoryArgs, ProcessArgs, progress_bar};
use crate::say;

#[derive(clap::Args, Default)]
pub struct RunArgs {
    /// Seed for the random cases and all input data.
    #[arg(long, default_value_t = Plan::default().seed)]
    pub seed: u64,
    /// Random cases per cell, on top of the fixed edge cases.
    #[arg(long, default_value_t = Plan::default().random_cases)]
    pub cases: usize,
    #[command(flatten)]
    pub cells: CellArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Run only shard K of N (1-based, e.g. 2/4): every N-th selected cell, for splitting one
    /// matrix over CI jobs; merge the JSON records afterwards.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Show the selected cells and their planned cases without running them.
    #[arg(long)]
    pub list: bool,
    /// Machine name in the JSON record (default: the host name).
    #[arg(long)]
    pub machine: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs the matrix; exit code 1 on a failure or a missing required backend, 2 on bad options.
/// Cases past the memory limit are skipped with the reason.
pub fn run(args: RunArgs) -> ExitCode {
    if let Err(e) = args.memory.apply() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let outputs = match args.output.plan() {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let plan = Plan {
        seed: args.seed,
        random_cases: args.cases,
    };
    eprintln!(
        "crosscheck {}: detecting backends...",
        env!("CARGO_PKG_VERSION")
    );
    let reg = registry();
    let cells = args.cells.filter();
    let selected: Vec<CellKey> = cell_slots(&reg.all, &|key| cells.matches(key))
        .into_iter()
        .map(|slot| slot.key)
        .enumerate()
        .filter(|(i, _)| args.shard.is_none_or(|s| s.takes(*i)))
        .map(|(_, key)| key)
        .collect();
    let missing: Vec<_> = reg
        .missing
        .iter()
        .filter(|m| cells.matches_backend(&m.backend))
        .cloned()
        .collect();
    if selected.is_empty() {
        for m in &missing {
            eprintln!(
                "{}  unavailable: {}\n  hint: {}",
                m.backend, m.reason, m.hint
            );
        }
        eprintln!("error: no cell matches the filters (`crosscheck run --list` shows the matrix)");
        return ExitCode::FAILURE;
    }
    if args.list {
        return list(&selected, &plan);
    }
    let filter = |key: &CellKey| selected.contains(key);
    let bar = progress_bar("cases");
    let mut report = run_matrix(&reg.all, &plan, &filter, &Bar(bar.clone()));
    bar.finish_and_clear();
    if report.any_failed() {
        let budget = shrink::shrink_budget();
        if !budget.is_zero() {
            eprintln!(
                "shrinking the failing cases (at most {budget:?} per cell; CROSSCHECK_SHRINK_S)..."
            );
        }
        shrink::shrink_failures(&mut report, &reg.all, budget);
    }
    let required = reg.check_required();
    let record = RunRecord::new(
        &report,
        RunContext {
            plan: &plan,
            selection: Selection::of(&cells, args.shard.map(|s| s.to_string())),
            missing: &missing
                .iter()
                .map(|m| MissingRecord {
                    backend: m.backend.clone(),
                    reason: m.reason.clone(),
                    hint: m.hint.clone(),
                })
                .collect::<Vec<_>>(),
            required_missing: required.as_ref().err().cloned(),
            machine_name: args.machine,
        },
    );
    for (format, destination) in &outputs {
        let text = match format {
            Format::Table => {
                let mut text = render_matrix(&record);
                text.push_str(&format!(
                    "{} cells, {} cases in {:.1}s (plan seed {:#x})",
                    record.summary.cells, record.summary.cases, record.elapsed_s, plan.seed
                ));
                if let Err(e) = &required {
                    text.push_str(&format!("\n{e}"));
                }
                text
            }
            Format::Json => serde_json::to_string_pretty(&record).expect("record serialises"),
            Format::Markdown => render_markdown(&record),
            Format::Junit => render_junit(&record),
            Format::Html => render_run_html(&record),
        };
        if let Err(e) = emit(&text, destination) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        if let Destination::File(path) = destination {
            eprintln!("wrote {format:?} report to {}", path.display());
        }
    }
    if record.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints the selected cells with their planned cases (or why they cannot run).
fn list(selected: &[CellKey], plan: &Plan) -> ExitCode {
    let reg = registry();
    let slots = cell_slots(&reg.all, &|key| selected.contains(key));
    let mut total = 0;
    say!(
        "{:24} {:14} {:5} {:>6}",
        "op/kernel",
        "backend",
        "var.",
        "cases"
    );
    for slot in &slots {
        let k = &slot.key;
        let planned = match &slot.unavailable {
            Some(reason) => format!("n/a: {reason}"),
            None => {
                let n = plan.cases(k.op, &k.backend, &k.kernel, k.variant).len();
                total += n;
                format!("{n:>6}")
            }
        };
        say!(
            "{:24} {:14} {:5} {planned}",
            k.row(),
            k.backend,
            k.variant.label()
        );
    }
    say!(
        "{} cells, {total} cases planned (seed {:#x}); nothing was run",
        slots.len(),
        plan.seed
    );
    ExitCode::SUCCESS
}
