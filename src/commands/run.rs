//! `crosscheck run` (the default): the conformance matrix, with a progress bar.

use std::process::ExitCode;

use crosscheck::report::render_matrix;
use crosscheck::run::CellKey;
use crosscheck::{Plan, registry, run_matrix};

use crate::commands::{Bar, CellArgs, progress_bar};
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
}

/// Runs the matrix; exit code 1 on a failure or a missing required backend.
pub fn run(args: RunArgs) -> ExitCode {
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
    let filter = |key: &CellKey| cells.matches(key);
    let bar = progress_bar("cases");
    let report = run_matrix(&reg.all, &plan, &filter, &Bar(bar.clone()));
    bar.finish_and_clear();
    let missing: Vec<_> = reg
        .missing
        .iter()
        .filter(|m| cells.matches_backend(&m.backend))
        .cloned()
        .collect();
    say!("{}", render_matrix(&report, &missing));
    if report.cells.is_empty() {
        eprintln!("no cell matches the filters");
        return ExitCode::FAILURE;
    }
    let cases: usize = report.cells.iter().map(|(_, s)| s.cases()).sum();
    say!(
        "{} cells, {cases} cases in {:.1}s (plan seed {:#x})",
        report.cells.len(),
        report.elapsed.as_secs_f64(),
        plan.seed
    );
    let required = reg.check_required();
    if let Err(e) = &required {
        say!("{e}");
    }
    if report.any_failed() || required.is_err() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
