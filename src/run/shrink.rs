//! Shrinking a cell's failures: its smallest failing cases are cut down, within a time budget,
//! to smaller cases that still fail, by the greedy pass that finishes the property tests'
//! shrinking ([`crate::testing::minimize_within`]), so a report can show a small repro beside
//! the planned case.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_spec::Backend;

use crate::case::Case;
use crate::judge::Verdict;
use crate::run::cell::{CaseResult, run_case};
use crate::run::matrix::{CellStatus, MatrixReport};
use crate::testing::minimize_within;

/// Environment variable with the shrinking budget of one failing cell, in seconds (default 20;
/// 0 turns shrinking off).
pub const SHRINK_VAR: &str = "CROSSCHECK_SHRINK_S";

/// Failing cases shrunk per cell: the smallest ones, which shrink fastest.
pub const FAILURES_TO_SHRINK: usize = 3;

/// The shrinking budget of one failing cell: `CROSSCHECK_SHRINK_S` or 20 s.
pub fn shrink_budget() -> Duration {
    std::env::var(SHRINK_VAR)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(20), Duration::from_secs_f64)
}

/// A failing case and the smaller case it shrank to, which fails too.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The case the cell ran.
    pub original: Case,
    /// The smaller failing case.
    pub case: Case,
    /// The smaller case's verdict.
    pub verdict: Verdict,
}

/// Shrinks the first [`FAILURES_TO_SHRINK`] of `failures` (smallest first, as a cell lists
/// them) on `backend`, all of them together within `budget` (a run under way when it ends is
/// finished). Only cases that got smaller and still fail are returned, in the order of
/// `failures`.
pub fn shrink_cases(
    backend: &Arc<dyn Backend>,
    failures: &[(Case, Verdict)],
    budget: Duration,
) -> Vec<Shrunk> {
    let started = Instant::now();
    let mut shrunk: Vec<Shrunk> = Vec::new();
    for (original, _) in failures.iter().take(FAILURES_TO_SHRINK) {
        let Some(left) = budget
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        // A case that an earlier one already shrank to is as small as it gets.
        if shrunk.iter().any(|s| s.case == *original) {
            continue;
        }
        let case = minimize_within(backend, original.clone(), left);
        // Another seed alone is not a smaller case.
        if case.problem == original.problem {
            continue;
        }
        if let Ok(CaseResult::Judged { verdict, .. }) = run_case(backend, &case)
            && !verdict.passed()
        {
            shrunk.push(Shrunk {
                original: original.clone(),
                case,
                verdict,
            });
        }
    }
    shrunk
}

/// Shrinks the failures of every failing cell of `report` (see [`shrink_cases`]), each cell
/// within `budget_per_cell`, on the backend of the cell's name in `backends` (a cell whose
/// backend is not there is left as it is), and records them in the cell's `shrunk`: the table
/// then shows each shrunk case and its repro line under the case it came from.
pub fn shrink_failures(
    report: &mut MatrixReport,
    backends: &[Arc<dyn Backend>],
    budget_per_cell: Duration,
) {
    for (key, status) in &mut report.cells {
        let CellStatus::Fail {
            failures, shrunk, ..
        } = status
        else {
            continue;
        };
        if let Some(backend) = backends.iter().find(|b| b.name() == key.backend) {
            *shrunk = shrink_cases(backend, failures, budget_per_cell);
        }
    }
}
