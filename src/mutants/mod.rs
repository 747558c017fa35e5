//! The mutation catalogue and its runner: how well the suite kills realistic porting bugs.
//!
//! A mutant is run on a wgpu backend by patching a copy of its kernel's shader, then running the
//! default plan's cases (the same the matrix runs) for every variant the patch applies to until
//! one fails — and counts that a kill only where the unpatched kernel passes the same case (the
//! control). The report says which check killed it, after how long, and — when asked — the
//! smallest failing case shrinking reaches (proptest, then the greedy pass of
//! [`crate::testing::minimize`]).

mod catalogue;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_kernels::WgpuBackend;
use crosscheck_spec::{Backend, KernelError, KernelId, Op, Variant};
use proptest::test_runner::Config;

pub use catalogue::{CATALOGUE, Mutant};

use crate::case::Case;
use crate::generate::shapes;
use crate::judge::{Failure, Tier, Verdict};
use crate::run::{CaseResult, Plan, run_case};
use crate::testing::smallest_failure;

/// How a mutant fared.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A case failed.
    Killed {
        /// The first failing case.
        case: Box<Case>,
        /// What caught it.
        killed_by: String,
        /// Cases run, the killing one included.
        cases: usize,
        /// Time until the kill.
        after: Duration,
        /// The smallest failing case shrinking found, if shrinking was asked for and succeeded.
        shrunk: Option<Box<Case>>,
    },
    /// Every case passed.
    Survived {
        /// Cases run.
        cases: usize,
    },
    /// The unpatched kernel failed the case that failed the mutant: not a kill (the judge, or
    /// the kernel itself, is wrong there), and no case killed it with a passing control.
    ControlFailed {
        /// The first such case.
        case: Box<Case>,
        /// What failed in the unpatched kernel.
        why: String,
        /// Cases run.
        cases: usize,
    },
    /// The patch does not apply to any variant this backend can run.
    NotApplicable(String),
    /// The patched shader does not compile: a broken catalogue entry, not a kill.
    Stillborn(String),
}

impl Outcome {
    /// True when a case failed.
    pub fn killed(&self) -> bool {
        matches!(self, Outcome::Killed { .. })
    }
}

/// The variants of `backend` the mutant's patch applies to (its text is in their module).
pub fn variants(backend: &WgpuBackend, m: &Mutant) -> Vec<Variant> {
    let kernels = backend.kernels();
    let Some(kernel) = m.kernel.find(&kernels) else {
        return Vec::new();
    };
    kernel
        .variants
        .iter()
        .filter(|v| v.unavailable.is_none())
        .map(|v| v.variant)
        .filter(|&v| {
            backend
                .module_source(&m.kernel, v)
                .is_some_and(|s| s.contains(m.find))
        })
        .collect()
}

/// `backend` with the mutant's patch applied.
pub fn patched(backend: &WgpuBackend, m: &Mutant) -> Arc<dyn Backend> {
    let (find, replace) = (m.find, m.replace);
    Arc::new(backend.with_patch(m.kernel.clone(), move |source| {
        source.replacen(find, replace, 1)
    }))
}

/// Runs `m` on `backend` under `plan`; with `shrink`, also looks for the smallest failing case.
pub fn run(backend: &WgpuBackend, m: &Mutant, plan: &Plan, shrink: bool) -> Outcome {
    let variants = variants(backend, m);
    if variants.is_empty() {
        return Outcome::NotApplicable(format!(
            "`{}` is in no module {} can run",
            m.find,
            backend.name()
        ));
    }
    let mutant = patched(backend, m);
    let control: Arc<dyn Backend> = Arc::new(backend.clone());
    judge_mutant(&mutant, &control, &m.kernel, &variants, plan, shrink)
}

/// Runs the cases of `plan` for `kernel` in `variants` on `mutant` until one fails, and
/// counts it a kill only when the unpatched `control` passes the same case (a case the control
/// fails too is a judge false alarm or a bug of the kernel itself, never a kill); a shrunk case
/// is kept only where the control passes it too.
pub fn judge_mutant(
    mutant: &Arc<dyn Backend>,
    control: &Arc<dyn Backend>,
    kernel: &KernelId,
    variants: &[Variant],
    plan: &Plan,
    shrink: bool,
) -> Outcome {
    let (op, name) = (kernel.op, &*kernel.name);
    let started = Instant::now();
    let mut cases = 0;
    let mut control_failed: Option<(Case, String)> = None;
    for &variant in variants {
        for case in plan.cases(op, control.name(), name, variant) {
            cases += 1;
            let Ok(CaseResult::Judged { verdict, .. }) = run_case(mutant, &case) else {
                continue;
            };
            if let Some(Failure::Error(KernelError::Compile(why))) = verdict.failures.first() {
                return Outcome::Stillborn(why.clone());
            }
            if verdict.passed() {
                continue;
            }
            if let Some(why) = control_failure(control, &case) {
                control_failed.get_or_insert((case, why));
                continue;
            }
            let after = started.elapsed();
            let shrunk = shrink
                .then(|| shrunk_case(mutant, op, name, variant))
                .flatten()
                .filter(|small| control_failure(control, small).is_none())
                .map(Box::new);
            return Outcome::Killed {
                killed_by: killed_by(&case, &verdict),
                case: Box::new(case),
                cases,
                after,
                shrunk,
            };
        }
    }
    match control_failed {
        Some((case, why)) => Outcome::ControlFailed {
            case: Box::new(case),
            why,
            cases,
        },
        None => Outcome::Survived { cases },
    }
}

/// Why the unpatched kernel fails `case`, or `None` when it passes (or cannot run it).
fn control_failure(control: &Arc<dyn Backend>, case: &Case) -> Option<String> {
    match run_case(control, case) {
        Ok(CaseResult::Judged { verdict, .. }) if !verdict.passed() => Some(
            verdict
                .failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

/// The smallest failing case shrinking finds for the mutant in one variant (up to 256 draws).
fn shrunk_case(mutant: &Arc<dyn Backend>, op: Op, name: &str, variant: Variant) -> Option<Case> {
    let config = Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    smallest_failure(
        mutant,
        shapes::case(op, mutant.name(), name, variant),
        config,
    )
    .ok()
    .flatten()
}

/// Which check caught a failing case: the guard, the exact tier, the bound tier, a timeout...
pub fn killed_by(case: &Case, verdict: &Verdict) -> String {
    let checks: Vec<String> = verdict
        .failures
        .iter()
        .map(|f| match f {
            Failure::Mismatch { .. } => match verdict.tier {
                Tier::Exact => "exact tier".to_string(),
                Tier::Bound => "bound tier".to_string(),
            },
            Failure::Unwritten { .. } => "poison guard (unwritten)".into(),
            Failure::Touched { .. } => "poison guard (written where untouched)".into(),
            Failure::OutOfBounds { .. } => "guard words (out of bounds)".into(),
            Failure::Panicked(_) => "panic isolation".into(),
            Failure::Error(KernelError::Timeout(_)) => "timeout".into(),
            Failure::Error(e) => format!("error: {e}"),
            Failure::Rerun { .. } => "rerun".into(),
            Failure::Differs { property, .. } => format!("{property} rerun"),
        })
        .collect();
    format!("{} [{}]", checks.join(" + "), case.distribution.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert!(CATALOGUE.len() >= 40);
    }

    /// Every patch finds its text in some variant of its kernel: a catalogue entry that applies
    /// nowhere would be silently useless.
    #[test]
    fn every_patch_applies_to_its_kernel() {
        let modules = WgpuBackend::modules();
        for m in CATALOGUE {
            let applies = modules
                .iter()
                .any(|(kernel, _, source)| *kernel == m.kernel && source.contains(m.find));
            assert!(applies, "{}: `{}` is not in {}", m.id, m.find, m.kernel);
            assert_ne!(m.find, m.replace, "{}", m.id);
        }
    }
}
