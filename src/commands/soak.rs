//! `crosscheck soak`: many random cases per cell on the correct kernels, to measure false
//! alarms (expected: none) and throughput.

use std::fmt::Write;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crosscheck::registry;
use crosscheck::report::case::{ratio, summary};
use crosscheck::run::CellKey;
use crosscheck::soak::{SoakOutcome, soak};

use crate::commands::{Bar, CellArgs, MemoryArgs, ProcessArgs, progress_bar};
use crate::say;

/// Options of `crosscheck soak`.
#[derive(clap::Args)]
pub struct SoakArgs {
    /// Random cases per cell.
    #[arg(long, default_value_t = 1000)]
    cases: usize,
    /// Seed of the cases and their data (default: drawn from the clock, and printed).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    cells: CellArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    memory: MemoryArgs,
}

/// Runs the soak; exit code 1 if any case fails, 2 if no cell matches or on bad options. Cases
/// past the memory limit (per case: several run at once) are skipped with the reason.
pub fn soak_command(args: SoakArgs) -> ExitCode {
    if let Err(e) = args.memory.apply() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let reg = registry();
    let filter = args.cells.filter();
    say!(
        "crosscheck soak: {} random cases per cell, seed {seed:#x}, {} threads",
        args.cases,
        rayon::current_num_threads()
    );
    for backend in reg.all.iter().filter(|b| filter.matches_backend(b.name())) {
        let d = backend.device();
        say!(
            "  {}: {} ({}; {})",
            backend.name(),
            d.device,
            d.api,
            d.driver
        );
    }
    let started = Instant::now();
    let bar = progress_bar("cases");
    say!(
        "{:34} {:>9} {:>6} {:>7} {:>5} {:>5} {:>8} {:>9}",
        "cell",
        "cases",
        "failed",
        "skipped",
        "finds",
        "notes",
        "worst",
        "cases/s"
    );
    // Each cell's line is printed as soon as the cell is done.
    let print_cell = |key: &CellKey, outcome: &SoakOutcome| {
        bar.suspend(|| say!("{}", cell_line(key, outcome).trim_end()));
    };
    let cells = soak(
        &reg.all,
        &|k: &CellKey| filter.matches(k),
        args.cases,
        seed,
        &Bar(bar.clone()),
        &print_cell,
    );
    bar.finish_and_clear();
    if cells.is_empty() {
        eprintln!(
            "error: no cell matches the filters (backends here: {})",
            reg.names().join(", ")
        );
        return ExitCode::from(2);
    }
    let mut failures = String::new();
    let (mut judged, mut failed) = (0, 0);
    for (key, outcome) in &cells {
        if let SoakOutcome::Ran(s) = outcome {
            judged += s.judged;
            failed += s.failed;
            let name = format!("{} {} {}", key.row(), key.backend, key.variant);
            for (case, verdict) in &s.failures {
                writeln!(failures, "FAIL {name}: {}", summary(case, verdict)).unwrap();
                writeln!(
                    failures,
                    "  repro: {}",
                    crosscheck::backends::repro_command(&case.id())
                )
                .unwrap();
            }
        }
    }
    if !failures.is_empty() {
        say!("failures (smallest first, at most 10 per cell)\n{failures}");
    }
    say!(
        "{judged} cases judged, {failed} failed, in {:.1}s (seed {seed:#x})",
        started.elapsed().as_secs_f64()
    );
    if judged == 0 {
        // Nothing passes without checking: every selected cell was n/a or skipped every case.
        eprintln!("error: no case was judged (every selected cell was n/a or skipped its cases)");
        return ExitCode::FAILURE;
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One line of the soak table (two when the cell skipped cases).
fn cell_line(key: &CellKey, outcome: &SoakOutcome) -> String {
    let name = format!("{} {} {}", key.row(), key.backend, key.variant);
    match outcome {
        SoakOutcome::NotApplicable(reason) => format!("{name:34} n/a: {reason}"),
        SoakOutcome::Ran(s) => {
            let mut line = format!(
                "{name:34} {:>9} {:>6} {:>7} {:>5} {:>5} {:>8} {:>9.1}",
                s.judged,
                s.failed,
                s.skipped,
                s.findings,
                s.noted,
                ratio(s.worst_ratio),
                s.per_second()
            );
            if let Some(reason) = &s.skip_reason {
                line.push_str(&format!("\n{:34} skipped because: {reason}", ""));
            }
            line
        }
    }
}
