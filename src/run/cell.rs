//! Running one case on one backend: generate inputs, arm the guards, run the kernel in
//! isolation, inspect the guards, and judge against the oracle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_reference::codec;
use crosscheck_spec::{
    Backend, HostTensor, KernelError, NonFinite, OutputBuffer, Precision, Problem, Subnormals,
};

use crate::case::{Case, Distribution};
use crate::generate;
use crate::guards::{self, GUARD_BYTES};
use crate::judge::stats::QuantizationError;
use crate::judge::{self, Failure, Verdict};
use crate::report::case::element_label;
use crate::run::deadline::{Launch, Ran, run_with_deadline};
use crate::run::expect::expectation;
use crate::run::invariance;
use crate::run::isolate::isolated;
pub use crate::run::launch_context::LaunchContext;
use crate::run::memory;

/// The outcome of one case.
#[derive(Debug, Clone)]
pub enum CaseResult {
    /// The kernel ran (or failed to) and was judged.
    Judged {
        /// The judgement.
        verdict: Verdict,
        /// Time spent in the backend's `run`.
        elapsed: Duration,
    },
    /// The backend cannot run this kernel, variant or problem, or the harness refused the case
    /// (its memory estimate is past the limit, `run::memory`), for this reason.
    NotApplicable(String),
}

impl CaseResult {
    /// The verdict, if the case was judged.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            CaseResult::Judged { verdict, .. } => Some(verdict),
            CaseResult::NotApplicable(_) => None,
        }
    }
}

/// Environment variable with the limit, in seconds, on one backend `run` (default 120).
pub const TIMEOUT_VAR: &str = "CROSSCHECK_TIMEOUT_S";

/// The limit on one backend `run`: `CROSSCHECK_TIMEOUT_S` or 120 s.
pub fn default_timeout() -> Duration {
    std::env::var(TIMEOUT_VAR)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(Duration::from_secs(120), Duration::from_secs_f64)
}

/// Runs `case` on `backend` within [`default_timeout`]. `Err` means the case names a kernel or
/// variant the backend does not offer at all (a wrong id), not a kernel failure.
pub fn run_case(backend: &Arc<dyn Backend>, case: &Case) -> Result<CaseResult, String> {
    run_case_within(backend, case, default_timeout())
}

/// [`run_case`] with an explicit limit on the backend's `run`: past it the case gets a timeout
/// verdict and the call is abandoned on its own thread, so the run carries on.
pub fn run_case_within(
    backend: &Arc<dyn Backend>,
    case: &Case,
    timeout: Duration,
) -> Result<CaseResult, String> {
    run_observed(backend, case, timeout).map(|(result, _)| result)
}

/// What a judged run produced, for judges other than crosscheck's own.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The stored inputs.
    pub inputs: Vec<HostTensor>,
    /// The kernel's output, decoded exactly.
    pub output: Vec<f64>,
    /// The oracle's values (IEEE semantics; for raw bytes, the reference bytes).
    pub oracle: Vec<f64>,
    /// Output elements the kernel had to leave untouched (no oracle value: criteria skip them).
    pub untouched: Vec<usize>,
    /// Storage precision of the output.
    pub precision: Precision,
}

/// [`run_case_within`] that also returns the output and the oracle when the kernel produced one.
pub fn run_observed(
    backend: &Arc<dyn Backend>,
    case: &Case,
    timeout: Duration,
) -> Result<(CaseResult, Option<Observed>), String> {
    // Bounded memory (run/memory.rs): a case whose estimate is past the limit is refused before
    // anything is generated, and shown as skipped with the reason (never as passed).
    if let Err(refused) = memory::check(memory::case_bytes(case), memory::max_memory()?) {
        return Ok((CaseResult::NotApplicable(refused.to_string()), None));
    }
    let kernels = isolated(|| backend.kernels())
        .map_err(|p| format!("{} panicked listing kernels: {p}", backend.name()))?;
    let kernel = case.kernel_id().find(&kernels).ok_or_else(|| {
        let names: Vec<String> = kernels
            .iter()
            .filter(|k| k.op == case.op())
            .map(|k| k.name.clone())
            .collect();
        format!(
            "{} has no {} kernel `{}` (it has: {})",
            backend.name(),
            case.op(),
            case.kernel,
            names.join(", ")
        )
    })?;
    let info = kernel.variant(case.variant).ok_or_else(|| {
        format!(
            "{} {} is not built for {}",
            backend.name(),
            kernel.label(),
            case.variant
        )
    })?;
    if let Some(reason) = &info.unavailable {
        return Ok((CaseResult::NotApplicable(reason.clone()), None));
    }
    let tier = case.tier();
    let no_output = |failure, elapsed| {
        Ok((
            CaseResult::Judged {
                verdict: Verdict::no_output(tier, failure),
                elapsed,
            },
            None,
        ))
    };
    match isolated(|| backend.check(&case.kernel, case.variant, &case.problem)) {
        Err(panic) => return no_output(Failure::Panicked(panic), Duration::ZERO),
        Ok(Err(KernelError::Unsupported(reason))) => {
            return Ok((CaseResult::NotApplicable(reason), None));
        }
        Ok(Err(e)) => return no_output(Failure::Error(e), Duration::ZERO),
        Ok(Ok(())) => {}
    }
    let inputs = generate::inputs(case);
    let out_precision = case.problem.output_precision(case.variant);
    let mut output = OutputBuffer::new(out_precision, case.problem.output_len(), GUARD_BYTES);
    guards::arm(&mut output);
    let started = Instant::now();
    let launch = Launch {
        kernel: &case.kernel,
        variant: case.variant,
        problem: &case.problem,
        context: LaunchContext::case(case),
    };
    let (inputs, output) = match run_with_deadline(backend, &launch, inputs, output, timeout) {
        Ran::Done(Ok(()), inputs, output) => (inputs, output),
        // A backend that finds out only when running that it cannot take the case (a process
        // answering `unsupported`) skips it, as `check` would have.
        Ran::Done(Err(KernelError::Unsupported(reason)), ..) => {
            return Ok((CaseResult::NotApplicable(reason), None));
        }
        Ran::Done(Err(e), ..) => return no_output(Failure::Error(e), started.elapsed()),
        Ran::Panicked(panic) => return no_output(Failure::Panicked(panic), started.elapsed()),
        Ran::TimedOut => return no_output(Failure::Error(KernelError::Timeout(timeout)), timeout),
        Ran::NotStarted(why) => {
            return no_output(Failure::Error(KernelError::Device(why)), Duration::ZERO);
        }
    };
    let elapsed = started.elapsed();
    let mut seen = guards::inspect(&output);
    if output.precision() == Precision::U8 && !seen.unwritten.is_empty() {
        seen.unwritten = bytes_unwritten_twice(backend, &launch, &inputs, &seen.unwritten, timeout);
    }
    let judge_against = |inputs: &[HostTensor]| {
        let expected = expectation(case, inputs, &info.contract);
        let verdict = judge::judge(&info.contract, &expected, &output, &seen);
        (verdict, expected)
    };
    let (mut verdict, expected) = judge_against(&inputs);
    // A device that may flush subnormals (as WGSL allows) and disagrees with IEEE on special
    // values is a portability finding when it agrees with the same inputs, subnormals read as ±0.
    if !verdict.passed()
        && case.distribution == Distribution::Specials
        && info.contract.subnormals == Subnormals::MayFlush
    {
        let flushed: Vec<HostTensor> = inputs.iter().map(flush_subnormals).collect();
        if flushed != inputs {
            let (again, _) = judge_against(&flushed);
            if again.passed() {
                let finding = "subnormal inputs read as zero: the output matches the inputs with subnormals flushed to ±0 \
                               (the contract declares that subnormals may flush, as WGSL allows), not IEEE arithmetic on them";
                verdict = Verdict {
                    findings: vec![finding.to_string()],
                    ..again
                };
            }
        }
    }
    // A device declared finite-only (WGSL's default) has no defined answer where an input or
    // an exact result is not finite: a mismatch there is a portability finding, not a failure.
    if info.contract.non_finite == NonFinite::FiniteOnly
        && !verdict.passed()
        && verdict
            .failures
            .iter()
            .all(|f| matches!(f, Failure::Mismatch { .. }))
        && outside_finite_math(&inputs, &expected.values, output.precision())
    {
        verdict = non_finite_finding(&case.problem, verdict);
    }
    if verdict.passed() {
        let found = invariance::rerun(backend, case, &info.contract, &inputs, &output, timeout);
        verdict.failures.extend(found.failures);
        verdict.notes.extend(found.notes);
    }
    let precision = output.precision();
    let values: Vec<f64> = output
        .payload()
        .chunks_exact(precision.bytes())
        .map(|e| codec::bits_to_f64(precision, precision.bits(e)))
        .collect();
    verdict.stats.quantization = crate::ops::of(&case.problem)
        .unquantized(case, &inputs)
        .map(|exact| QuantizationError::of(&values, &exact));
    let observed = Observed {
        output: values,
        oracle: expected.values,
        untouched: expected.untouched,
        inputs,
        precision,
    };
    Ok((CaseResult::Judged { verdict, elapsed }, Some(observed)))
}

/// True when an input is NaN or infinite, or an exact result is NaN, infinite or beyond the
/// output precision's largest finite value (an overflow).
fn outside_finite_math(inputs: &[HostTensor], oracle: &[f64], output: Precision) -> bool {
    let input_special = inputs
        .iter()
        .filter(|t| t.precision != Precision::U8)
        .any(|t| t.to_f32().iter().any(|v| !v.is_finite()));
    let overflow = output != Precision::U8;
    input_special
        || oracle
            .iter()
            .any(|y| !y.is_finite() || (overflow && y.abs() > output.max_finite()))
}

/// `verdict`'s mismatches turned into one finding naming the device's value and IEEE's.
fn non_finite_finding(problem: &Problem, verdict: Verdict) -> Verdict {
    let example = verdict.top.first().map_or(String::new(), |e| {
        format!(
            ", e.g. {} = {} where IEEE gives {}",
            element_label(problem, e.index),
            e.value,
            e.oracle
        )
    });
    let finding = format!(
        "non-finite case on a finite-math device: {} of {} elements differ from IEEE{example} \
         (WGSL lets a device assume no NaN or infinity; declare the adapter IEEE with \
         CROSSCHECK_WGPU_IEEE to judge it strictly)",
        verdict.failing, verdict.elements
    );
    Verdict {
        failures: Vec::new(),
        findings: vec![finding],
        ..verdict
    }
}

/// The bytes among `candidates` (they held the poison after the first run, which a correct
/// kernel may write on purpose) that a second run, into an output armed with another poison,
/// leaves unwritten too. A second run that fails confirms nothing (determinism is judged
/// separately).
fn bytes_unwritten_twice(
    backend: &Arc<dyn Backend>,
    launch: &Launch,
    inputs: &[HostTensor],
    candidates: &[usize],
    timeout: Duration,
) -> Vec<usize> {
    let problem = launch.problem;
    let mut second = OutputBuffer::new(Precision::U8, problem.output_len(), GUARD_BYTES);
    guards::arm_with(&mut second, u32::from(guards::SECOND_BYTE_POISON));
    match run_with_deadline(backend, launch, inputs.to_vec(), second, timeout) {
        Ran::Done(Ok(()), _, second) => guards::unwritten_in_both(candidates, &second),
        _ => Vec::new(),
    }
}

/// `t` with every subnormal of its (floating-point) storage precision replaced by a zero of the
/// same sign; raw bytes are returned as they are.
fn flush_subnormals(t: &HostTensor) -> HostTensor {
    if t.precision == Precision::U8 {
        return t.clone();
    }
    let tiny = t.precision.min_normal() as f32;
    let values: Vec<f32> = codec::decode(t.precision, &t.bytes)
        .into_iter()
        .map(|v| {
            if v != 0.0 && v.abs() < tiny {
                0.0f32.copysign(v)
            } else {
                v
            }
        })
        .collect();
    HostTensor {
        bytes: codec::encode(t.precision, &values),
        ..t.clone()
    }
}
