//! Every catalogued mutant (a realistic porting bug patched into a copy of a WGSL kernel) must
//! be killed by the default suite. This runs each on one wgpu backend with a reduced budget of
//! random cases; `crosscheck mutants` runs them all on every backend, with shrinking. Without
//! a Vulkan or GL adapter the test is listed as ignored with the reasons, and it fails when
//! CROSSCHECK_REQUIRE lists a missing one (`harness = false`, see `crosscheck::testing::Suite`).

use crosscheck::mutants::{self, CATALOGUE, Outcome};
use crosscheck::run::Plan;
use crosscheck::testing::{Skip, Suite, wgpu_backend};
use crosscheck_kernels::WgpuBackend;
use crosscheck_spec::KernelId;

/// The Vulkan backend, else the GL one, else why neither is here (a required Vulkan that is
/// missing is not passed over for GL).
fn vulkan_or_gl() -> Result<WgpuBackend, Skip> {
    match wgpu_backend("vulkan") {
        Ok(vulkan) => Ok(vulkan),
        Err(skip) if skip.is_required() => Err(skip),
        Err(no_vulkan) => wgpu_backend("gl").map_err(|no_gl| Skip {
            reason: format!("{}; {}", no_vulkan.reason, no_gl.reason),
            ..no_gl
        }),
    }
}

fn every_catalogued_mutant_is_killed(backend: WgpuBackend) {
    let plan = Plan {
        random_cases: 4,
        ..Plan::default()
    };
    let mut problems = Vec::new();
    for m in CATALOGUE {
        match mutants::run(&backend, m, &plan, false) {
            Outcome::Killed { .. } => {}
            other => problems.push(format!("{} ({}): {other:?}", m.id, m.bug)),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} mutants not killed:\n{}",
        problems.len(),
        CATALOGUE.len(),
        problems.join("\n")
    );
}

/// A kill needs a control: a case the unpatched kernel fails too (here the "control" reads B
/// swapped as well, standing in for a judge false alarm) is never counted as a kill, while the
/// correct CPU kernel as the control makes the same failure a kill.
fn a_failure_the_control_shares_is_not_a_kill() {
    use std::sync::Arc;

    use crosscheck::testing::SwappedB;
    use crosscheck_kernels::CpuBackend;
    use crosscheck_spec::{Backend, Op, Precision, Variant};

    let plan = Plan {
        random_cases: 2,
        ..Plan::default()
    };
    let broken: Arc<dyn Backend> = Arc::new(SwappedB {
        inner: CpuBackend,
        name: "cpu",
    });
    let correct: Arc<dyn Backend> = Arc::new(CpuBackend);
    let target = KernelId::fixed(Op::Matmul, "naive");
    let f32 = [Variant::portable(Precision::F32)];
    let judged = |control: &Arc<dyn Backend>| {
        mutants::judge_mutant(&broken, control, &target, &f32, &plan, false)
    };
    assert!(judged(&correct).killed(), "{:?}", judged(&correct));
    match judged(&broken) {
        Outcome::ControlFailed { why, .. } => assert!(why.contains("outside the bound"), "{why}"),
        other => panic!("a shared failure counted: {other:?}"),
    }
}

fn main() {
    let mut suite = Suite::new();
    suite
        .needing(
            "every_catalogued_mutant_is_killed",
            vulkan_or_gl(),
            every_catalogued_mutant_is_killed,
        )
        .test(
            "a_failure_the_control_shares_is_not_a_kill",
            a_failure_the_control_shares_is_not_a_kill,
        );
    suite.run_and_exit()
}
