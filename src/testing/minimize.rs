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

/// The smallest case reachable from the failing `case` by single steps that keep it failing
/// the same way: seed 0, then smaller dimensions and fewer mask flags.
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
        neighbours.extend(
            smaller_problems(&current.problem)
                .into_iter()
                .map(|problem| Case {
                    problem,
                    ..current.clone()
                }),
        );
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
