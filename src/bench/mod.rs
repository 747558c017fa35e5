//! `crosscheck bench`: every kernel on every backend at realistic sizes, timed with warm-up and
//! repetitions, reported as GFLOP/s and GB/s and as a fraction of the backend's measured roofline,
//! with Pennycook's performance-portability figure per kernel, the err/bound distribution per
//! precision, and the cost of verifying a large matmul by Freivalds' check against the oracle.

pub mod accuracy;
#[cfg(feature = "plots")]
pub mod plot;
pub mod probe;
pub mod verify;
pub mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crosscheck_spec::{Backend, Op, OutputBuffer, Variant};

use crate::case::{Case, Distribution};
use crate::generate;
use crate::run::CellKey;
use crate::run::matrix::cell_slots;
use probe::Roofline;
use workload::{Workload, workloads};

/// Value of the `schema` field of a bench record.
pub const BENCH_SCHEMA: &str = "crosscheck-bench";

/// How to time.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// Matmul sides.
    pub sizes: Vec<usize>,
    /// A launch slower than this stops the kernel's size ladder (larger sizes are skipped).
    pub max_seconds: f64,
    /// Repeat a workload until this much time was spent on it (at least `min_reps` times).
    pub target_seconds: f64,
    /// Fewest timed repetitions.
    pub min_reps: usize,
    /// Most timed repetitions.
    pub max_reps: usize,
    /// Seed of the inputs.
    pub seed: u64,
}

impl Default for BenchPlan {
    fn default() -> Self {
        BenchPlan {
            sizes: vec![256, 512, 1024, 2048],
            max_seconds: 4.0,
            target_seconds: 1.0,
            min_reps: 3,
            max_reps: 10,
            seed: 0xbe4c,
        }
    }
}

/// One timed workload.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Op family.
    pub op: String,
    /// Kernel.
    pub kernel: String,
    /// Backend.
    pub backend: String,
    /// Variant label.
    pub variant: String,
    /// Workload label.
    pub workload: String,
    /// Position on the size axis.
    pub size: f64,
    /// Operations per launch.
    pub flops: f64,
    /// Minimum bytes moved per launch.
    pub bytes: f64,
    /// Timed launches (after one warm-up), seconds each.
    pub times_s: Vec<f64>,
    /// Median launch time, seconds.
    pub median_s: f64,
    /// (max − min) / median.
    pub spread: f64,
    /// flops / median, in GFLOP/s.
    pub gflops: f64,
    /// bytes / median, in GB/s.
    pub gbps: f64,
    /// gflops / the backend's attainable rate at this arithmetic intensity.
    pub roofline_fraction: Option<f64>,
    /// Why there is no timing (n/a, failed, skipped after a slow size).
    pub note: Option<String>,
}

/// A backend's probes.
#[derive(Debug, Clone, Serialize)]
pub struct BackendPeak {
    /// Backend name.
    pub backend: String,
    /// Device.
    pub device: String,
    /// Measured roofline, if the probes ran.
    pub roofline: Option<Roofline>,
    /// Why not.
    pub error: Option<String>,
}

/// Pennycook's performance portability of one kernel variant on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct Portability {
    /// `op/kernel`.
    pub kernel: String,
    /// Variant label.
    pub variant: String,
    /// Workload label.
    pub workload: String,
    /// Roofline fraction per backend (None: it did not run there).
    pub fractions: Vec<(String, Option<f64>)>,
    /// |H| / Σ 1/e_i over the backends H, or 0 when it did not run on one of them.
    pub pennycook: f64,
}

/// Everything a bench run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Always [`BENCH_SCHEMA`].
    pub schema: String,
    /// Layout version.
    pub schema_version: u32,
    /// crosscheck version.
    pub crosscheck_version: String,
    /// Host name.
    pub machine: String,
    /// Probes per backend.
    pub backends: Vec<BackendPeak>,
    /// Every timed workload.
    pub measurements: Vec<Measurement>,
    /// Performance portability per kernel variant and workload.
    pub portability: Vec<Portability>,
    /// err/bound of every judged case per precision.
    pub accuracy: Vec<accuracy::AccuracySample>,
    /// Freivalds against the full oracle, if asked for.
    pub verification: Option<verify::VerificationCost>,
}

/// Something to report progress to.
pub trait BenchProgress: Sync {
    /// Total steps.
    fn start(&self, total: u64);
    /// A step began.
    fn step(&self, what: &str);
    /// A step ended.
    fn done(&self);
}

/// Times every selected (backend, kernel, variant) on its workloads.
pub fn measure(
    backends: &[(Arc<dyn Backend>, Option<Roofline>)],
    filter: &dyn Fn(&CellKey) -> bool,
    plan: &BenchPlan,
    progress: &dyn BenchProgress,
) -> Vec<Measurement> {
    let all: Vec<Arc<dyn Backend>> = backends.iter().map(|(b, _)| b.clone()).collect();
    let slots = cell_slots(&all, filter);
    let jobs: Vec<(usize, CellKey, Option<String>, Vec<Workload>)> = slots
        .into_iter()
        .map(|slot| {
            let index = all
                .iter()
                .position(|b| b.name() == slot.key.backend)
                .unwrap_or(0);
            let work = workloads(slot.key.op, &slot.key.kernel, slot.key.variant, &plan.sizes);
            (index, slot.key, slot.unavailable, work)
        })
        .collect();
    progress.start(jobs.iter().map(|j| j.3.len() as u64).sum());
    let mut out = Vec::new();
    for (index, key, unavailable, work) in jobs {
        let (backend, roofline) = &backends[index];
        let mut stop: Option<String> = unavailable.map(|r| format!("n/a: {r}"));
        for w in work {
            progress.step(&format!(
                "{} {} {} {}",
                key.row(),
                key.backend,
                key.variant,
                w.label
            ));
            let mut m = Measurement {
                op: key.op.to_string(),
                kernel: key.kernel.clone(),
                backend: key.backend.clone(),
                variant: key.variant.label(),
                workload: w.label.clone(),
                size: w.size,
                flops: w.flops,
                bytes: w.bytes,
                times_s: Vec::new(),
                median_s: f64::NAN,
                spread: f64::NAN,
                gflops: f64::NAN,
                gbps: f64::NAN,
                roofline_fraction: None,
                note: stop.clone(),
            };
            if stop.is_none() {
                match time_workload(backend, &key, key.variant, &w, plan) {
                    Ok(times) => {
                        let mut sorted = times.clone();
                        sorted.sort_by(f64::total_cmp);
                        let median = sorted[sorted.len() / 2];
                        m.median_s = median;
                        m.spread = (sorted[sorted.len() - 1] - sorted[0]) / median;
                        m.gflops = w.flops / median / 1e9;
                        m.gbps = w.bytes / median / 1e9;
                        m.roofline_fraction =
                            roofline.map(|r| m.gflops / r.attainable(w.flops, w.bytes));
                        m.times_s = times;
                        if median > plan.max_seconds && key.op == Op::Matmul {
                            stop = Some(format!(
                                "skipped: {} took {median:.1} s (over --max-seconds {})",
                                w.label, plan.max_seconds
                            ));
                        }
                    }
                    Err(e) => m.note = Some(e),
                }
            }
            out.push(m);
            progress.done();
        }
    }
    out
}

/// One warm-up launch, then timed launches until `target_seconds` or `max_reps`.
fn time_workload(
    backend: &Arc<dyn Backend>,
    key: &CellKey,
    variant: Variant,
    w: &Workload,
    plan: &BenchPlan,
) -> Result<Vec<f64>, String> {
    backend
        .check(&key.kernel, variant, &w.problem)
        .map_err(|e| format!("n/a: {e}"))?;
    let distribution = if Distribution::for_op(key.op).contains(&Distribution::Normal) {
        Distribution::Normal
    } else {
        Distribution::for_op(key.op)[0]
    };
    let case = Case {
        kernel: key.kernel.clone(),
        backend: key.backend.clone(),
        variant,
        problem: w.problem.clone(),
        distribution,
        seed: plan.seed,
    };
    let inputs = generate::inputs(&case);
    let refs: Vec<_> = inputs.iter().collect();
    let precision = w.problem.output_precision(variant);
    let mut output = OutputBuffer::new(precision, w.problem.output_len(), 0);
    let mut launch = || -> Result<f64, String> {
        let started = Instant::now();
        backend
            .run(&key.kernel, variant, &w.problem, &refs, &mut output)
            .map_err(|e| format!("failed: {e}"))?;
        Ok(started.elapsed().as_secs_f64())
    };
    let warm = launch()?;
    if warm > plan.max_seconds {
        return Ok(vec![warm]);
    }
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < plan.max_reps
        && (times.len() < plan.min_reps
            || started.elapsed() < Duration::from_secs_f64(plan.target_seconds))
    {
        times.push(launch()?);
    }
    Ok(times)
}

/// Pennycook's metric per (kernel, variant, workload) over the backends that declare the kernel.
pub fn portability(measurements: &[Measurement]) -> Vec<Portability> {
    let mut out: Vec<Portability> = Vec::new();
    for m in measurements {
        let kernel = format!("{}/{}", m.op, m.kernel);
        let entry = match out
            .iter_mut()
            .position(|p| p.kernel == kernel && p.variant == m.variant && p.workload == m.workload)
        {
            Some(i) => &mut out[i],
            None => {
                out.push(Portability {
                    kernel,
                    variant: m.variant.clone(),
                    workload: m.workload.clone(),
                    fractions: Vec::new(),
                    pennycook: 0.0,
                });
                out.last_mut().expect("just pushed")
            }
        };
        entry
            .fractions
            .push((m.backend.clone(), m.roofline_fraction));
    }
    for p in &mut out {
        let fractions: Option<Vec<f64>> = p.fractions.iter().map(|(_, f)| *f).collect();
        p.pennycook = match fractions {
            Some(f) if !f.is_empty() && f.iter().all(|&e| e > 0.0) => {
                f.len() as f64 / f.iter().map(|e| 1.0 / e).sum::<f64>()
            }
            _ => 0.0,
        };
    }
    out
}
