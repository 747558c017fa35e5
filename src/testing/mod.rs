//! Helpers for the conformance tests: property runs that shrink to a minimal failing case and
//! report it as a repro line, and honest reporting of backends that are not there: a [`Suite`]
//! lists a test of a missing backend as ignored, with the reason, or fails it when
//! `CROSSCHECK_REQUIRE` lists the backend.

mod altered;
mod minimize;
mod suite;
mod swapped;

pub use altered::{Altered, as_computed, as_declared};
pub use minimize::{minimize, minimize_within};
#[cfg(feature = "wgpu")]
pub use suite::wgpu_backend;
pub use suite::{Skip, Suite, backend, run_reporting_ignored};

pub use swapped::SwappedB;

use std::io::Write;
use std::sync::Arc;

use crosscheck_spec::{Backend, KernelId, Variant};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

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
    KernelId::new(op, kernel)
        .find(&backend.kernels())
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

/// Environment variable with the seed of every property's random cases (hex `0x…` or
/// decimal): set it to the seed a failing run printed to replay that whole test run.
pub const SEED_VAR: &str = "CROSSCHECK_SEED";

/// The seed of this test process's properties: [`SEED_VAR`] when set, else drawn once from the
/// clock. `Err` for a value that is not a number.
pub fn test_seed() -> Result<u64, String> {
    static SEED: std::sync::OnceLock<Result<u64, String>> = std::sync::OnceLock::new();
    SEED.get_or_init(|| match std::env::var(SEED_VAR) {
        Ok(text) => parse_seed(&text),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64)),
    })
    .clone()
}

/// Parses a seed written as `0x2a` or `42`.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("{SEED_VAR}={text}: {e} (expected e.g. 0x5eed or 24301)"))
}

/// A proptest runner whose random cases follow `seed`: the same seed draws the same cases.
pub fn seeded_runner(config: Config, seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes(),
        );
    }
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Runs the property "every case of `strategy` passes on `backend`": shrinks a failure to the
/// smallest failing case and returns its description, its repro line and the seed that replays
/// the whole test run.
pub fn check_property(
    backend: &Arc<dyn Backend>,
    strategy: impl Strategy<Value = Case>,
) -> Result<(), String> {
    let seed = test_seed()?;
    let replay = format!("replay this test run: {SEED_VAR}={seed:#x}");
    match smallest_failure_seeded(backend, strategy, config(), seed) {
        Ok(None) => Ok(()),
        Ok(Some(minimal)) => {
            let detail = check_case(backend, &minimal).err().unwrap_or_default();
            Err(format!(
                "smallest failing case after shrinking:\n{detail}{replay}\n"
            ))
        }
        Err(why) => Err(format!("property aborted: {why}\n{replay}")),
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
    smallest_failure_seeded(backend, strategy, config, test_seed()?)
}

/// [`smallest_failure`] with the cases drawn from `seed`.
pub fn smallest_failure_seeded(
    backend: &Arc<dyn Backend>,
    strategy: impl Strategy<Value = Case>,
    config: Config,
    seed: u64,
) -> Result<Option<Case>, String> {
    let mut runner = seeded_runner(config, seed);
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
    let Some(kernel) = KernelId::new(op_kernel.0, op_kernel.1).find(&kernels) else {
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
