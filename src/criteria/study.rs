//! The side-by-side study behind `crosscheck criteria`: every criterion judges the same outputs —
//! the default plan's cases on every backend with the correct kernels (false alarms), and the
//! same cases with each catalogued mutant on a wgpu backend (mutants caught).

use std::fmt::Write;
use std::sync::Arc;

use crosscheck_kernels::WgpuBackend;
use crosscheck_spec::{Backend, Op};

use super::Criterion;
use crate::case::Case;
use crate::mutants::{self, CATALOGUE};
use crate::run::cell::{default_timeout, run_observed};
use crate::run::{CaseResult, Plan};

/// The families the table reports on.
pub const FAMILIES: [&str; 4] = ["matmul", "attention", "quantized", "moe"];

fn family(op: Op) -> usize {
    match op {
        Op::Matmul => 0,
        Op::Attention | Op::Sparse | Op::Mla | Op::SparseIndexer => 1,
        Op::Quantize | Op::Dequantize | Op::QuantMatmul => 2,
        Op::MoeContiguous | Op::MoeMasked | Op::MoeRouted => 3,
    }
}

/// Counts for one criterion and family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Mutants the criterion flagged on at least one case.
    pub caught: usize,
    /// Mutants with at least one case the criterion applies to.
    pub mutants: usize,
    /// Correct-kernel cases the criterion flagged.
    pub false_alarms: usize,
    /// Correct-kernel cases the criterion applies to.
    pub cases: usize,
}

/// The study's results.
#[derive(Debug, Clone, Default)]
pub struct Study {
    /// `tallies[criterion][family]`, criteria in [`Criterion::ALL`] order.
    pub tallies: Vec<[Tally; FAMILIES.len()]>,
    /// Per mutant: its id, family and, per criterion in [`Criterion::ALL`] order, whether it
    /// caught the mutant (`None` where it applies to none of the mutant's cases).
    pub mutants: Vec<(&'static str, usize, Vec<Option<bool>>)>,
    /// Backends whose correct kernels were judged.
    pub backends: Vec<String>,
    /// The backend the mutants ran on.
    pub mutant_backend: String,
}

/// Judges one case by every criterion: `Some(flags)` when it was judged.
fn judge_case(backend: &Arc<dyn Backend>, case: &Case) -> Option<Vec<Option<bool>>> {
    let (result, observed) = run_observed(backend, case, default_timeout()).ok()?;
    let CaseResult::Judged { verdict, .. } = result else {
        return None;
    };
    Some(
        Criterion::ALL
            .iter()
            .map(|c| {
                c.applies(case)
                    .then(|| c.flags(case, &verdict, observed.as_ref()))
            })
            .collect(),
    )
}

/// Every (op, kernel, variant) cell a backend can run.
fn cells(backend: &Arc<dyn Backend>) -> Vec<(Op, String, crosscheck_spec::Variant)> {
    backend
        .kernels()
        .into_iter()
        .flat_map(|k| {
            k.variants
                .iter()
                .filter(|v| v.unavailable.is_none())
                .map(|v| (k.op, k.name.clone(), v.variant))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs the study; `tick` is called after every case.
pub fn run(
    backends: &[Arc<dyn Backend>],
    mutant_backend: &WgpuBackend,
    plan: &Plan,
    tick: &dyn Fn(),
) -> Study {
    let mut study = Study {
        tallies: vec![[Tally::default(); FAMILIES.len()]; Criterion::ALL.len()],
        backends: backends.iter().map(|b| b.name().to_string()).collect(),
        mutant_backend: mutant_backend.name().to_string(),
        ..Study::default()
    };
    for backend in backends {
        for (op, kernel, variant) in cells(backend) {
            for case in plan.cases(op, backend.name(), &kernel, variant) {
                if let Some(flags) = judge_case(backend, &case) {
                    for (c, flag) in flags.iter().enumerate() {
                        if let Some(flagged) = flag {
                            let t = &mut study.tallies[c][family(op)];
                            t.cases += 1;
                            t.false_alarms += *flagged as usize;
                        }
                    }
                }
                tick();
            }
        }
    }
    for m in CATALOGUE {
        let (op, name) = (m.kernel.op, &*m.kernel.name);
        let Some(&variant) = mutants::variants(mutant_backend, m).first() else {
            continue;
        };
        let patched = mutants::patched(mutant_backend, m);
        let mut caught = vec![false; Criterion::ALL.len()];
        let mut applies = vec![false; Criterion::ALL.len()];
        for case in plan.cases(op, mutant_backend.name(), name, variant) {
            if let Some(flags) = judge_case(&patched, &case) {
                for (c, flag) in flags.iter().enumerate() {
                    applies[c] |= flag.is_some();
                    caught[c] |= flag.unwrap_or(false);
                }
            }
            tick();
        }
        for c in 0..Criterion::ALL.len() {
            let t = &mut study.tallies[c][family(op)];
            t.mutants += applies[c] as usize;
            t.caught += (applies[c] && caught[c]) as usize;
        }
        study.mutants.push((
            m.id,
            family(op),
            caught
                .iter()
                .zip(&applies)
                .map(|(c, a)| a.then_some(*c))
                .collect(),
        ));
    }
    study
}

/// The number of cases [`run`] will judge (for a progress bar).
pub fn case_count(
    backends: &[Arc<dyn Backend>],
    mutant_backend: &WgpuBackend,
    plan: &Plan,
) -> usize {
    let correct: usize = backends
        .iter()
        .flat_map(|b| {
            cells(b)
                .into_iter()
                .map(move |(op, k, v)| plan.cases(op, b.name(), &k, v).len())
        })
        .sum();
    let mutant: usize = CATALOGUE
        .iter()
        .filter_map(|m| {
            let (op, name) = (m.kernel.op, &*m.kernel.name);
            mutants::variants(mutant_backend, m)
                .first()
                .map(|&v| plan.cases(op, mutant_backend.name(), name, v).len())
        })
        .sum();
    correct + mutant
}

/// The study as the markdown of `docs/criteria.md`.
pub fn render(study: &Study, command: &str) -> String {
    let mut md = String::new();
    writeln!(md, "# The anchors' criteria side by side\n").unwrap();
    writeln!(
        md,
        "Produced by `{command}`: every criterion judges the same outputs. *False alarms* counts the \
         default plan's cases (fixed edge cases and seeded random ones) on {} with the correct kernels; \
         *mutants caught* counts the {} catalogued porting bugs, run on {} with the same plan, one variant \
         each (a mutant is caught when the criterion flags at least one of its cases). A run that produced \
         no output (an error, a panic, a timeout) counts as caught by every criterion. Criteria that do not \
         apply to a family show —.\n",
        study.backends.join(", "),
        study.mutants.len(),
        study.mutant_backend
    )
    .unwrap();
    let families = FAMILIES.join(" | ");
    writeln!(
        md,
        "| criterion | mutants caught: {families} | false alarms: {families} |"
    )
    .unwrap();
    writeln!(md, "|---{}|", "|---".repeat(2 * FAMILIES.len())).unwrap();
    for (c, tallies) in Criterion::ALL.iter().zip(&study.tallies) {
        let caught = tallies.iter().map(|t| {
            if t.mutants == 0 {
                "—".to_string()
            } else {
                format!("{} / {}", t.caught, t.mutants)
            }
        });
        let alarms = tallies.iter().map(|t| {
            if t.cases == 0 {
                "—".to_string()
            } else {
                format!("{} / {}", t.false_alarms, t.cases)
            }
        });
        writeln!(
            md,
            "| {} | {} | {} |",
            c.name(),
            caught.collect::<Vec<_>>().join(" | "),
            alarms.collect::<Vec<_>>().join(" | ")
        )
        .unwrap();
    }
    writeln!(
        md,
        "\nWhere they differ, among the mutants each criterion applies to:\n"
    )
    .unwrap();
    for (c, criterion) in Criterion::ALL.iter().enumerate().skip(1) {
        let differ = |ours: bool| -> Vec<&str> {
            study
                .mutants
                .iter()
                .filter(|(_, _, f)| f[c].is_some() && f[0] == Some(ours) && f[c] == Some(!ours))
                .map(|(id, ..)| *id)
                .collect()
        };
        writeln!(
            md,
            "- **{}** misses {} that crosscheck kills; catches {} that crosscheck misses.",
            criterion.name(),
            list(&differ(true)),
            list(&differ(false))
        )
        .unwrap();
    }
    md
}

fn list(ids: &[&str]) -> String {
    match ids.len() {
        0 => "none".into(),
        n => format!(
            "{n} ({})",
            ids.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
