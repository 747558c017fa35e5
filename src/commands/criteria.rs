//! `crosscheck criteria`: the anchors' criteria and crosscheck's side by side on the same
//! correct-kernel cases and mutants; prints the table and writes it as markdown.

use std::process::ExitCode;

use crosscheck::criteria::study;
use crosscheck::{Plan, registry};

use crate::commands::{progress_bar, say_raw};

/// Options of `crosscheck criteria`.
#[derive(clap::Args)]
pub struct CriteriaArgs {
    /// Where to write the markdown table.
    #[arg(long, default_value = "docs/criteria.md")]
    out: std::path::PathBuf,
    /// Random cases per cell and per mutant, on top of the fixed ones.
    #[arg(long, default_value_t = Plan::default().random_cases)]
    cases: usize,
}

/// Runs the study; exit code 2 when no wgpu backend is there to run the mutants on.
pub fn criteria(args: CriteriaArgs) -> ExitCode {
    let reg = registry();
    let Some(mutant_backend) = reg.wgpu.first() else {
        eprintln!("error: the mutants need a wgpu backend, and none is available here");
        return ExitCode::from(2);
    };
    let plan = Plan {
        random_cases: args.cases,
        ..Plan::default()
    };
    let bar = progress_bar("cases");
    bar.set_length(study::case_count(&reg.all, mutant_backend, &plan) as u64);
    let results = study::run(&reg.all, mutant_backend, &plan, &|| bar.inc(1));
    bar.finish_and_clear();
    let command = format!("cargo run --release -- criteria --cases {}", args.cases);
    let markdown = study::render(&results, &command);
    say_raw(&markdown);
    if let Err(e) = std::fs::write(&args.out, &markdown) {
        eprintln!("error: cannot write {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    eprintln!("wrote {}", args.out.display());
    ExitCode::SUCCESS
}
