//! The conformance matrix: every kernel × backend × variant cell, each running its planned cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_spec::{Backend, DeviceInfo, KernelId, Op, Variant};

use crate::case::Case;
use crate::judge::stats::QuantizationError;
use crate::judge::{ElementCheck, Verdict};
use crate::run::cell::{CaseResult, run_case};
use crate::run::plan::Plan;
use crate::run::shrink::Shrunk;

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellKey {
    /// Op family.
    pub op: Op,
    /// Kernel name.
    pub kernel: String,
    /// Backend name.
    pub backend: String,
    /// Storage precision and path.
    pub variant: Variant,
}

impl CellKey {
    /// The kernel of the cell.
    pub fn kernel_id(&self) -> KernelId {
        KernelId::new(self.op, self.kernel.clone())
    }

    /// `op/kernel`, the row label.
    pub fn row(&self) -> String {
        self.kernel_id().to_string()
    }
}

/// The verdict of one cell over all its cases.
#[derive(Debug, Clone)]
pub enum CellStatus {
    /// Every case passed.
    Pass {
        /// Cases judged.
        cases: usize,
        /// Largest err/bound ratio over all cases.
        worst_ratio: f64,
        /// Every case was judged by the exact tier (the outputs were bit-exact).
        exact_only: bool,
        /// Planned cases the backend could not run (e.g. beyond its limits), with the reason.
        skipped: Vec<(Case, String)>,
        /// Differences between launches the kernel does not promise away, per case.
        notes: Vec<(Case, String)>,
    },
    /// At least one case failed.
    Fail {
        /// Cases judged.
        cases: usize,
        /// The failing cases and their verdicts, smallest problem first.
        failures: Vec<(Case, Verdict)>,
        /// Planned cases the backend could not run, with the reason.
        skipped: Vec<(Case, String)>,
        /// Differences between launches the kernel does not promise away, in the cases that
        /// passed.
        notes: Vec<(Case, String)>,
        /// Smaller cases some failures shrank to (empty until
        /// [`shrink_failures`](crate::run::shrink::shrink_failures) fills it).
        shrunk: Vec<Shrunk>,
    },
    /// No case failed, but some showed a portability finding (a difference from IEEE behaviour
    /// the contract allows, such as flushed subnormals): reported, neither a pass nor a failure.
    Finding {
        /// Cases judged.
        cases: usize,
        /// The cases with findings, and what was found.
        findings: Vec<(Case, String)>,
        /// Planned cases the backend could not run, with the reason.
        skipped: Vec<(Case, String)>,
        /// Differences between launches the kernel does not promise away, per case.
        notes: Vec<(Case, String)>,
    },
    /// The cell cannot run here, for this reason.
    NotApplicable(String),
}

impl CellStatus {
    /// True for a failing cell.
    pub fn failed(&self) -> bool {
        matches!(self, CellStatus::Fail { .. })
    }

    /// Cases judged in the cell.
    pub fn cases(&self) -> usize {
        match self {
            CellStatus::Pass { cases, .. }
            | CellStatus::Fail { cases, .. }
            | CellStatus::Finding { cases, .. } => *cases,
            CellStatus::NotApplicable(_) => 0,
        }
    }
}

/// What a cell measured beyond its verdict: time, its worst element and summary statistics.
#[derive(Debug, Clone, Default)]
pub struct CellMeasures {
    /// Wall time of the whole cell (every case, its oracle, reruns and judging).
    pub wall: Duration,
    /// Time spent inside the backend's `run` for the first launch of every case.
    pub kernel_time: Duration,
    /// The case with the largest err/bound ratio and its worst element.
    pub worst: Option<(Case, ElementCheck)>,
    /// Largest normalised mean squared error over the cases (reported, never judged).
    pub max_nmse: f64,
    /// Largest error in units in the last place over the cases (reported, never judged).
    pub max_ulp: f64,
    /// The worst err/bound ratio of every judged case, in the order judged (the run record's
    /// histogram).
    pub case_ratios: Vec<f64>,
    /// Quantized matmuls: the largest errors against the unquantized product over the cases.
    pub quantization: Option<QuantizationError>,
}

/// A backend as the report shows it.
#[derive(Debug, Clone)]
pub struct BackendSummary {
    /// Backend name.
    pub name: String,
    /// Device behind it.
    pub device: DeviceInfo,
    /// The variants its kernels are built for: its columns.
    pub variants: Vec<Variant>,
}

/// Everything a matrix run found.
#[derive(Debug, Clone)]
pub struct MatrixReport {
    /// Backends that ran, in column order.
    pub backends: Vec<BackendSummary>,
    /// Rows: (op, kernel) in order of first appearance.
    pub rows: Vec<(Op, String)>,
    /// Every cell.
    pub cells: Vec<(CellKey, CellStatus)>,
    /// What each cell measured, in the order of `cells`.
    pub measures: Vec<CellMeasures>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl MatrixReport {
    /// The status of a cell, if it exists.
    pub fn cell(&self, key: &CellKey) -> Option<&CellStatus> {
        self.cells.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// True when any cell failed.
    pub fn any_failed(&self) -> bool {
        self.cells.iter().any(|(_, s)| s.failed())
    }
}

/// Progress of a run, for a progress bar (called from several threads by the soak).
pub trait Progress: Sync {
    /// Called once with the total number of cases.
    fn start(&self, total: u64);
    /// Called before each cell.
    fn cell(&self, key: &CellKey);
    /// Called after each case.
    fn case_done(&self);
}

/// No progress output.
impl Progress for () {
    fn start(&self, _: u64) {}
    fn cell(&self, _: &CellKey) {}
    fn case_done(&self) {}
}

/// A cell to run: its backend, its key, and why it cannot run here, if it cannot.
pub struct CellSlot {
    /// The backend that runs it.
    pub backend: Arc<dyn Backend>,
    /// Which cell.
    pub key: CellKey,
    /// Why the backend cannot run this kernel variant (e.g. a missing feature).
    pub unavailable: Option<String>,
}

/// Every cell of `backends` × their kernels × their variants that `filter` selects, in
/// backend, kernel, variant order.
pub fn cell_slots(
    backends: &[Arc<dyn Backend>],
    filter: &dyn Fn(&CellKey) -> bool,
) -> Vec<CellSlot> {
    let mut slots = Vec::new();
    for backend in backends {
        for kernel in backend.kernels() {
            for info in &kernel.variants {
                let key = CellKey {
                    op: kernel.op,
                    kernel: kernel.name.clone(),
                    backend: backend.name().to_string(),
                    variant: info.variant,
                };
                if filter(&key) {
                    slots.push(CellSlot {
                        backend: backend.clone(),
                        key,
                        unavailable: info.unavailable.clone(),
                    });
                }
            }
        }
    }
    slots
}

/// Runs every cell of `backends` × their kernels × their variants under `plan`.
/// `filter` decides which cells run (others are left out of the report).
pub fn run_matrix(
    backends: &[Arc<dyn Backend>],
    plan: &Plan,
    filter: &dyn Fn(&CellKey) -> bool,
    progress: &dyn Progress,
) -> MatrixReport {
    let started = Instant::now();
    let slots = cell_slots(backends, filter);
    let mut summaries = Vec::new();
    for backend in backends {
        let mut variants: Vec<Variant> = Vec::new();
        for slot in slots.iter().filter(|s| s.key.backend == backend.name()) {
            if !variants.contains(&slot.key.variant) {
                variants.push(slot.key.variant);
            }
        }
        variants.sort();
        if !variants.is_empty() {
            summaries.push(BackendSummary {
                name: backend.name().to_string(),
                device: backend.device(),
                variants,
            });
        }
    }
    let mut rows: Vec<(Op, String)> = Vec::new();
    for slot in &slots {
        let row = (slot.key.op, slot.key.kernel.clone());
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    rows.sort_by_key(|(op, _)| *op);
    let planned: Vec<Vec<Case>> = slots
        .iter()
        .map(|slot| match slot.unavailable {
            Some(_) => Vec::new(),
            None => plan.cases(
                slot.key.op,
                &slot.key.backend,
                &slot.key.kernel,
                slot.key.variant,
            ),
        })
        .collect();
    progress.start(planned.iter().map(|c| c.len() as u64).sum());
    let (cells, measures) = slots
        .into_iter()
        .zip(planned)
        .map(|(slot, cases)| {
            progress.cell(&slot.key);
            let (status, measures) = match slot.unavailable {
                Some(reason) => (CellStatus::NotApplicable(reason), CellMeasures::default()),
                None => run_cell(&slot.backend, &cases, progress),
            };
            ((slot.key, status), measures)
        })
        .unzip();
    MatrixReport {
        backends: summaries,
        rows,
        cells,
        measures,
        elapsed: started.elapsed(),
    }
}

/// Runs the cases of one cell (as planned by [`Plan::cases`]). A cell is n/a only if every case
/// is; otherwise the judged cases decide it.
pub fn run_cell(
    backend: &Arc<dyn Backend>,
    cases: &[Case],
    progress: &dyn Progress,
) -> (CellStatus, CellMeasures) {
    let started = Instant::now();
    let mut measures = CellMeasures::default();
    let status = judge_cases(backend, cases, progress, &mut measures);
    measures.wall = started.elapsed();
    (status, measures)
}

/// Runs and judges every case of a cell, filling `measures` on the way.
fn judge_cases(
    backend: &Arc<dyn Backend>,
    cases: &[Case],
    progress: &dyn Progress,
    measures: &mut CellMeasures,
) -> CellStatus {
    let mut worst_ratio = 0.0f64;
    let mut judged = 0;
    let mut exact_only = true;
    let mut failures = Vec::new();
    let mut findings: Vec<(Case, String)> = Vec::new();
    let mut notes: Vec<(Case, String)> = Vec::new();
    let mut skipped: Vec<(Case, String)> = Vec::new();
    for case in cases {
        match run_case(backend, case) {
            Ok(CaseResult::Judged { verdict, elapsed }) => {
                judged += 1;
                measures.kernel_time += elapsed;
                measures.max_nmse = measures.max_nmse.max(verdict.stats.nmse);
                measures.max_ulp = measures.max_ulp.max(verdict.stats.max_ulp);
                if let Some(q) = verdict.stats.quantization {
                    measures.quantization =
                        Some(measures.quantization.map_or(q, |worst| worst.max(q)));
                }
                if let Some(worst) = verdict.worst()
                    && measures
                        .worst
                        .as_ref()
                        .is_none_or(|(_, w)| worst.ratio > w.ratio)
                {
                    measures.worst = Some((case.clone(), *worst));
                }
                worst_ratio = worst_ratio.max(verdict.worst_ratio);
                measures.case_ratios.push(verdict.worst_ratio);
                exact_only &= verdict.tier == crate::judge::Tier::Exact;
                findings.extend(verdict.findings.iter().map(|f| (case.clone(), f.clone())));
                notes.extend(verdict.notes.iter().map(|n| (case.clone(), n.clone())));
                if !verdict.passed() {
                    failures.push((case.clone(), verdict));
                }
            }
            Ok(CaseResult::NotApplicable(reason)) => skipped.push((case.clone(), reason)),
            Err(e) => return CellStatus::NotApplicable(e),
        }
        progress.case_done();
    }
    failures.sort_by_key(|(case, _): &(Case, Verdict)| case.problem.work());
    match (judged, failures.is_empty()) {
        (0, _) => CellStatus::NotApplicable(
            skipped
                .first()
                .map_or("no cases planned".into(), |(_, r)| r.clone()),
        ),
        (cases, true) if !findings.is_empty() => CellStatus::Finding {
            cases,
            findings,
            skipped,
            notes,
        },
        (cases, true) => CellStatus::Pass {
            cases,
            worst_ratio,
            exact_only,
            skipped,
            notes,
        },
        (cases, false) => CellStatus::Fail {
            cases,
            failures,
            skipped,
            notes,
            shrunk: Vec::new(),
        },
    }
}
