//! `crosscheck mutants`: every catalogued porting bug against the default suite, on every wgpu
//! backend it applies to; killed or survived, what killed it, how fast, and the smallest repro.

use std::process::ExitCode;

use crosscheck::mutants::{self, CATALOGUE, Outcome};
use crosscheck::{Plan, registry};

use crate::commands::progress_bar;
use crate::say;

/// Options of `crosscheck mutants`.
#[derive(clap::Args)]
pub struct MutantsArgs {
    /// Only backends whose name contains this (e.g. vulkan).
    #[arg(long)]
    backend: Option<String>,
    /// Only mutants whose id contains this (e.g. attn-flash).
    #[arg(long)]
    mutant: Option<String>,
    /// Random cases per variant on top of the fixed ones.
    #[arg(long, default_value_t = Plan::default().random_cases)]
    cases: usize,
    /// Skip looking for the smallest failing case of each killed mutant.
    #[arg(long)]
    no_shrink: bool,
}

/// Runs the catalogue; exit code 1 if a mutant survives or does not compile.
pub fn mutants(args: MutantsArgs) -> ExitCode {
    let reg = registry();
    let backends: Vec<_> = reg
        .wgpu
        .iter()
        .filter(|b| {
            args.backend.as_ref().is_none_or(|f| {
                b.adapter_info().name.contains(f.as_str())
                    || crosscheck_spec::Backend::name(*b).contains(f.as_str())
            })
        })
        .collect();
    let chosen: Vec<_> = CATALOGUE
        .iter()
        .filter(|m| {
            args.mutant
                .as_ref()
                .is_none_or(|f| m.id.contains(f.as_str()))
        })
        .collect();
    if backends.is_empty() || chosen.is_empty() {
        eprintln!(
            "error: no wgpu backend or no mutant matches the filters (backends here: {})",
            reg.names().join(", ")
        );
        return ExitCode::from(2);
    }
    let plan = Plan {
        random_cases: args.cases,
        ..Plan::default()
    };
    let bar = progress_bar("mutants");
    bar.set_length((backends.len() * chosen.len()) as u64);
    let (mut killed, mut bad, mut not_applicable) = (0, 0, 0);
    let mut lines = Vec::new();
    for backend in &backends {
        let name = crosscheck_spec::Backend::name(*backend).to_string();
        for m in &chosen {
            bar.set_message(format!("{} on {name}", m.id));
            let outcome = mutants::run(backend, m, &plan, !args.no_shrink);
            bar.inc(1);
            let head = format!("{} ({} on {name}): {}", m.id, m.kernel, m.bug);
            lines.push(match &outcome {
                Outcome::Killed { case, killed_by, cases, after, shrunk } => {
                    killed += 1;
                    let repro = shrunk.as_deref().unwrap_or(case);
                    format!(
                        "KILLED    {head}\n          by {killed_by} after {cases} case(s), {:.2} s\n          repro: crosscheck repro {repro}",
                        after.as_secs_f64()
                    )
                }
                Outcome::Survived { cases } => {
                    bad += 1;
                    format!("SURVIVED  {head}\n          {cases} case(s) passed")
                }
                Outcome::ControlFailed { case, why, cases } => {
                    bad += 1;
                    format!(
                        "CONTROL   {head}\n          not counted: the unpatched kernel fails too ({why}) after {cases} case(s)\n          repro: crosscheck repro {case}"
                    )
                }
                Outcome::Stillborn(why) => {
                    bad += 1;
                    format!("BROKEN    {head}\n          the patched shader does not compile: {why}")
                }
                Outcome::NotApplicable(why) => {
                    not_applicable += 1;
                    format!("n/a       {head}\n          {why}")
                }
            });
        }
    }
    bar.finish_and_clear();
    for line in &lines {
        say!("{line}");
    }
    say!(
        "\n{} mutants × {} backend(s): {killed} killed, {bad} not killed, {not_applicable} n/a",
        chosen.len(),
        backends.len()
    );
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
