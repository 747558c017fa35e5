//! The false-positive soak: many random cases per cell on the correct kernels, drawn from the
//! property tests' strategies, counting failures (expected: none), findings and notes, and the
//! throughput in cases per second. Cases of a cell run in parallel on the rayon pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::case::Case;
use crate::judge::Verdict;
use crate::run::matrix::{CellSlot, Progress, cell_slots};
use crate::run::{CaseResult, CellKey, Plan, run_case};
use crosscheck_spec::Backend;

/// Failing cases kept per cell (the smallest first); the rest are only counted.
const KEPT_FAILURES: usize = 10;

/// What the soak saw in one cell.
#[derive(Debug, Clone)]
pub enum SoakOutcome {
    /// The cell cannot run here, for this reason.
    NotApplicable(String),
    /// The cell ran.
    Ran(SoakStats),
}

/// Counts over one cell's cases.
#[derive(Debug, Clone, Default)]
pub struct SoakStats {
    /// Cases judged.
    pub judged: usize,
    /// Cases the backend could not run (e.g. past a device limit).
    pub skipped: usize,
    /// Cases that failed.
    pub failed: usize,
    /// The smallest failing cases with their verdicts.
    pub failures: Vec<(Case, Verdict)>,
    /// Cases with a portability finding.
    pub findings: usize,
    /// Cases whose launches differ where the kernel does not promise otherwise.
    pub noted: usize,
    /// Largest err/bound ratio over the passing cases.
    pub worst_ratio: f64,
    /// Wall time of the cell.
    pub elapsed: Duration,
    /// A reason the backend gave for a skipped case.
    pub skip_reason: Option<String>,
}

impl SoakStats {
    /// Judged cases per second of wall time.
    pub fn per_second(&self) -> f64 {
        self.judged as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn add(&mut self, case: &Case, result: Result<CaseResult, String>) {
        match result {
            Ok(CaseResult::Judged { verdict, .. }) => {
                self.judged += 1;
                self.findings += usize::from(!verdict.findings.is_empty());
                self.noted += usize::from(!verdict.notes.is_empty());
                if verdict.passed() {
                    self.worst_ratio = self.worst_ratio.max(verdict.worst_ratio);
                } else {
                    self.failed += 1;
                    self.failures.push((case.clone(), verdict));
                    self.failures.sort_by_key(|(c, _)| c.problem.work());
                    self.failures.truncate(KEPT_FAILURES);
                }
            }
            Ok(CaseResult::NotApplicable(reason)) | Err(reason) => {
                self.skipped += 1;
                self.skip_reason.get_or_insert(reason);
            }
        }
    }

    fn merge(mut self, other: SoakStats) -> SoakStats {
        self.judged += other.judged;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.findings += other.findings;
        self.noted += other.noted;
        self.worst_ratio = self.worst_ratio.max(other.worst_ratio);
        self.failures.extend(other.failures);
        self.failures.sort_by_key(|(c, _)| c.problem.work());
        self.failures.truncate(KEPT_FAILURES);
        self.skip_reason = self.skip_reason.or(other.skip_reason);
        self
    }
}

/// Runs `cases` random cases (from `seed`) in every cell of `backends` that `filter` selects,
/// handing each cell's outcome to `finished` as soon as the cell is done (so a long soak that is
/// interrupted keeps what it finished).
pub fn soak(
    backends: &[Arc<dyn Backend>],
    filter: &dyn Fn(&CellKey) -> bool,
    cases: usize,
    seed: u64,
    progress: &dyn Progress,
    finished: &dyn Fn(&CellKey, &SoakOutcome),
) -> Vec<(CellKey, SoakOutcome)> {
    let slots = cell_slots(backends, filter);
    let runnable = slots.iter().filter(|s| s.unavailable.is_none()).count();
    progress.start((runnable * cases) as u64);
    let plan = Plan {
        seed,
        random_cases: cases,
    };
    // A pool of its own: its threads block while a kernel runs on its deadline thread, and
    // kernels that use rayon themselves need the global pool free.
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("crosscheck-soak-{i}"))
        .build()
        .expect("a thread pool for the soak");
    slots
        .into_iter()
        .map(|slot| {
            progress.cell(&slot.key);
            let outcome = match &slot.unavailable {
                Some(reason) => SoakOutcome::NotApplicable(reason.clone()),
                None => SoakOutcome::Ran(pool.install(|| soak_cell(&slot, &plan, progress))),
            };
            finished(&slot.key, &outcome);
            (slot.key, outcome)
        })
        .collect()
}

fn soak_cell(slot: &CellSlot, plan: &Plan, progress: &dyn Progress) -> SoakStats {
    let started = Instant::now();
    let key = &slot.key;
    let cases = plan.random(key.op, &key.backend, &key.kernel, key.variant);
    let mut stats = cases
        .par_iter()
        .fold(SoakStats::default, |mut stats, case| {
            stats.add(case, run_case(&slot.backend, case));
            progress.case_done();
            stats
        })
        .reduce(SoakStats::default, SoakStats::merge);
    stats.elapsed = started.elapsed();
    stats
}
