//! Every catalogued mutant (a realistic porting bug patched into a copy of a WGSL kernel) must
//! be killed by the default suite. This runs each on one wgpu backend with a reduced budget of
//! random cases; `crosscheck mutants` runs them all on every backend, with shrinking.

use crosscheck::mutants::{self, CATALOGUE, Outcome};
use crosscheck::run::Plan;
use crosscheck::testing::backend_or_skip;

#[test]
fn every_catalogued_mutant_is_killed() {
    let api = if backend_or_skip("vulkan", "mutants (trying gl)").is_some() {
        "vulkan"
    } else {
        "gl"
    };
    if backend_or_skip(api, "mutants").is_none() {
        return;
    }
    let backend = crosscheck::registry().wgpu(api).expect("present").clone();
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
#[test]
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
    let target = (Op::Matmul, "naive");
    let f32 = [Variant::portable(Precision::F32)];
    let judged = |control: &Arc<dyn Backend>| {
        mutants::judge_mutant(&broken, control, target, &f32, &plan, false)
    };
    assert!(judged(&correct).killed(), "{:?}", judged(&correct));
    match judged(&broken) {
        Outcome::ControlFailed { why, .. } => assert!(why.contains("outside the bound"), "{why}"),
        other => panic!("a shared failure counted: {other:?}"),
    }
}
