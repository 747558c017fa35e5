//! The greedy pass after proptest's shrinking. proptest shrinks a choice among alternatives
//! (`prop_oneof!`) only towards alternatives drawn at random, so it can stop at `k = 64` when
//! `k = 2` fails too; this pass tries each smaller neighbour of the case and keeps any that
//! still fails the same way, until none does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_spec::Backend;

use crate::case::Case;
use crate::generate::smaller::smaller_problems;
use crate::run::{CaseResult, run_case};

/// Most cases the pass runs, and the longest it goes on, so that a slow backend or a hanging
/// kernel (each of its cases a timeout) cannot keep it going for long.
const MAX_RUNS: usize = 200;
const MAX_TIME: Duration = Duration::from_secs(30);

/// How a case ended, as far as "fails the same way" goes.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    /// Judged and failed.
    Failed,
    /// Could not run (not applicable, or an unknown kernel).
    NotRun,
}

fn outcome(backend: &Arc<dyn Backend>, case: &Case) -> Outcome {
    match run_case(backend, case) {
        Ok(CaseResult::Judged { verdict, .. }) if verdict.passed() => Outcome::Passed,
        Ok(CaseResult::Judged { .. }) => Outcome::Failed,
        Ok(CaseResult::NotApplicable(_)) | Err(_) => Outcome::NotRun,
    }
}

/// The seeds a smaller problem is tried with: the failing case's own, then a few fixed ones.
/// A bug that shows only on some data (a key range that stops short of the end, say) can pass
/// a smaller shape under one draw and fail it under another; trying only the current seed
/// left the pass stuck at a shape one step from where it could have gone on.
fn seeds_to_try(current: u64) -> impl Iterator<Item = u64> {
    std::iter::once(current).chain(EXTRA_SEEDS.into_iter().filter(move |&s| s != current))
}

/// The fixed seeds [`seeds_to_try`] adds.
const EXTRA_SEEDS: [u64; 4] = [0, 1, 2, 3];

/// The smallest case reachable from the failing `case` by single steps that keep it failing
/// the same way: seed 0, then smaller dimensions and fewer mask flags, each under the case's
/// seed and a few fixed ones.
pub fn minimize(backend: &Arc<dyn Backend>, case: Case) -> Case {
    minimize_within(backend, case, MAX_TIME)
}

/// [`minimize`] that starts no new run after `budget` (a run under way finishes, so it can
/// overrun by one case); at most 200 runs either way. The case as far as it got is returned.
pub fn minimize_within(backend: &Arc<dyn Backend>, case: Case, budget: Duration) -> Case {
    let started = Instant::now();
    let target = outcome(backend, &case);
    if target == Outcome::Passed {
        return case;
    }
    let mut current = case;
    let mut runs = 1;
    'outer: loop {
        let mut neighbours: Vec<Case> = Vec::new();
        if current.seed != 0 {
            neighbours.push(Case {
                seed: 0,
                ..current.clone()
            });
        }
        for problem in smaller_problems(&current.problem) {
            for seed in seeds_to_try(current.seed) {
                neighbours.push(Case {
                    problem: problem.clone(),
                    seed,
                    ..current.clone()
                });
            }
        }
        for candidate in neighbours {
            if runs >= MAX_RUNS || started.elapsed() > budget {
                break 'outer;
            }
            runs += 1;
            if outcome(backend, &candidate) == target {
                current = candidate;
                continue 'outer;
            }
        }
        break;
    }
    current
}
