//! Running one case on one backend: generate inputs, arm the guards, run the kernel in
//! isolation, inspect the guards, and judge against the oracle.

use std::time::{Duration, Instant};

use crosscheck_spec::{Backend, KernelError, OutputBuffer};

use crate::case::Case;
use crate::generate;
use crate::guards::{self, GUARD_BYTES};
use crate::judge::{self, Failure, Verdict};
use crate::run::expect::expectation;
use crate::run::isolate::isolated;

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
    /// The backend cannot run this kernel, variant or problem, for this reason.
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

/// Runs `case` on `backend`. `Err` means the case names a kernel or variant the backend does
/// not offer at all (a wrong id), not a kernel failure.
pub fn run_case(backend: &dyn Backend, case: &Case) -> Result<CaseResult, String> {
    let kernels = isolated(|| backend.kernels())
        .map_err(|p| format!("{} panicked listing kernels: {p}", backend.name()))?;
    let kernel = kernels
        .iter()
        .find(|k| k.op == case.op() && k.name == case.kernel)
        .ok_or_else(|| {
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
        return Ok(CaseResult::NotApplicable(reason.clone()));
    }
    let tier = case.tier();
    let no_output = |failure| {
        Ok(CaseResult::Judged {
            verdict: Verdict::no_output(tier, failure),
            elapsed: Duration::ZERO,
        })
    };
    match isolated(|| backend.check(&case.kernel, case.variant, &case.problem)) {
        Err(panic) => return no_output(Failure::Panicked(panic)),
        Ok(Err(KernelError::Unsupported(reason))) => return Ok(CaseResult::NotApplicable(reason)),
        Ok(Err(e)) => return no_output(Failure::Error(e)),
        Ok(Ok(())) => {}
    }
    let inputs = generate::inputs(case);
    let out_precision = case.problem.output_precision(case.variant);
    let mut output = OutputBuffer::new(out_precision, case.problem.output_len(), GUARD_BYTES);
    guards::arm(&mut output);
    let started = Instant::now();
    let input_refs: Vec<_> = inputs.iter().collect();
    let ran = isolated(|| {
        backend.run(
            &case.kernel,
            case.variant,
            &case.problem,
            &input_refs,
            &mut output,
        )
    });
    let elapsed = started.elapsed();
    match ran {
        Err(panic) => return no_output(Failure::Panicked(panic)),
        Ok(Err(e)) => return no_output(Failure::Error(e)),
        Ok(Ok(())) => {}
    }
    let seen = guards::inspect(&output);
    let expected = expectation(case, &inputs, &info.contract);
    let verdict = judge::judge(
        &info.contract,
        expected.tier,
        &expected.values,
        &expected.allowed_error,
        &output,
        &seen,
    );
    Ok(CaseResult::Judged { verdict, elapsed })
}
