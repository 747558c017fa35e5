//! Helpers for the conformance tests: property runs that shrink to a minimal failing case and
//! report it as a repro line, and honest reporting of backends that are not there: a [`Suite`]
//! lists a test of a missing backend as ignored, with the reason, or fails it when
//! `CROSSCHECK_REQUIRE` lists the backend.

mod minimize;
mod suite;
mod swapped;

pub use minimize::{minimize, minimize_within};
#[cfg(feature = "wgpu")]
pub use suite::wgpu_backend;
pub use suite::{Skip, Suite, backend};

pub use swapped::SwappedB;

use std::io::Write;
use std::sync::Arc;

use crosscheck_spec::{Backend, Variant};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::backends::REQUIRE_VAR;
use crate::case::Case;
use crate::report::case::describe_case;
use crate::run::{CaseResult, run_case};

/// Environment variable scaling the number of random cases per property (default 40).
pub const CASES_VAR: &str = "CROSSCHECK_CASES";

/// The declared contract of `op/kernel` in `variant` on `backend`, if it offers that.
pub fn contract_of(
    backend: &dyn Backend,
    op: crosscheck_spec::Op,
    kernel: &str,
    variant: Variant,
) -> Option<crosscheck_spec::NumericContract> {
    backend
        .kernels()
        .into_iter()
        .find(|k| k.op == op && k.name == kernel)
        .and_then(|k| k.variant(variant).map(|v| v.contract))
}

/// Random cases per property: `CROSSCHECK_CASES` or 40.
pub fn cases_per_property() -> u32 {
    std::env::var(CASES_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

/// proptest configuration for conformance properties: no persistence files, bounded shrinking.
pub fn config() -> Config {
    Config {
        cases: cases_per_property(),
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    }
}

/// Writes a line to the real stderr, past the test harness's capture, so skips are never silent.
pub fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The backend of API `api` (`cpu`, `vulkan`, `gl`, ...), for a test under libtest's own
/// harness. When it is missing: panics if `CROSSCHECK_REQUIRE` lists it, otherwise prints why
/// it is skipped and returns `None` — and the calling `#[test]` then reports "ok" although it
/// checked nothing. Prefer a [`Suite`] (`harness = false`), whose tests of a missing backend are
/// reported as ignored with the reason, or [`backend`], which returns the reason as a [`Skip`].
pub fn backend_or_skip(api: &str, test: &str) -> Option<Arc<dyn Backend>> {
    match backend(api) {
        Ok(backend) => Some(backend),
        Err(skip) if skip.is_required() => panic!("{test}: {skip}"),
        Err(skip) => {
            notice(&format!(
                "SKIPPED {test} on {api}: {} (set {REQUIRE_VAR}={api} to make this a failure)",
                skip.reason
            ));
            None
        }
    }
}

/// Runs one case and returns its description if it failed or could not run.
pub fn check_case(backend: &Arc<dyn Backend>, case: &Case) -> Result<(), String> {
    match run_case(backend, case) {
        Ok(CaseResult::Judged { verdict, .. }) if verdict.passed() => Ok(()),
        Ok(CaseResult::Judged { verdict, .. }) => Err(format!(
            "{}repro: cargo run --release -- repro {case}\n",
            describe_case(case, &verdict)
        )),
        Ok(CaseResult::NotApplicable(reason)) => {
            Err(format!("case {case} could not run: {reason}"))
        }
        Err(e) => Err(format!("case {case}: {e}")),
    }
}

/// Runs the property "every case of `strategy` passes on `backend`": shrinks a failure to the
/// smallest failing case and returns its description and repro line.
pub fn check_property(
    backend: &Arc<dyn Backend>,
    strategy: impl Strategy<Value = Case>,
) -> Result<(), String> {
    match smallest_failure(backend, strategy, config()) {
        Ok(None) => Ok(()),
        Ok(Some(minimal)) => {
            let detail = check_case(backend, &minimal).err().unwrap_or_default();
            Err(format!("smallest failing case after shrinking:\n{detail}"))
        }
        Err(why) => Err(format!("property aborted: {why}")),
    }
}

/// Draws cases from `strategy` under `config` until one fails on `backend`, then shrinks it
/// (proptest's shrinking, then [`minimize`]): `Ok(Some(smallest failing case))`, `Ok(None)` if
/// every case passed, `Err` if proptest gave up.
pub fn smallest_failure(
    backend: &Arc<dyn Backend>,
    strategy: impl Strategy<Value = Case>,
    config: Config,
) -> Result<Option<Case>, String> {
    let mut runner = TestRunner::new(config);
    match runner.run(&strategy, |case| {
        check_case(backend, &case).map_err(TestCaseError::fail)
    }) {
        Ok(()) => Ok(None),
        Err(TestError::Fail(_, minimal)) => Ok(Some(minimize(backend, minimal))),
        Err(TestError::Abort(why)) => Err(why.to_string()),
    }
}

/// The names of every `op` kernel `backend` offers, so that a test covers each one the backend
/// adds rather than a list that can fall behind.
pub fn kernel_names(backend: &dyn Backend, op: crosscheck_spec::Op) -> Vec<String> {
    backend
        .kernels()
        .into_iter()
        .filter(|k| k.op == op)
        .map(|k| k.name.to_string())
        .collect()
}

/// The variants of `kernel` that can run on `backend`, and a notice for each that cannot.
pub fn runnable_variants(
    backend: &dyn Backend,
    op_kernel: (crosscheck_spec::Op, &str),
) -> Vec<Variant> {
    let kernels = backend.kernels();
    let Some(kernel) = kernels
        .iter()
        .find(|k| k.op == op_kernel.0 && k.name == op_kernel.1)
    else {
        return Vec::new();
    };
    kernel
        .variants
        .iter()
        .filter_map(|v| match &v.unavailable {
            None => Some(v.variant),
            Some(reason) => {
                notice(&format!(
                    "n/a: {} {} {} on {}: {reason}",
                    kernel.op,
                    kernel.name,
                    v.variant,
                    backend.name()
                ));
                None
            }
        })
        .collect()
}
