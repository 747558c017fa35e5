//! Kernels nobody here wrote: the `gemm` and `matrixmultiply` crates, wrapped by the example
//! backend in `external/gemm-backend`, pass the default matrix and the random-shape properties
//! with no false alarm; the same wrapper with B's strides swapped fails with a small repro.

use std::sync::Arc;

use crosscheck::generate::shapes;
use crosscheck::run::{CellStatus, Plan, run_matrix};
use crosscheck::testing::{SwappedB, check_property, runnable_variants, smallest_failure};
use crosscheck_gemm_backend::GemmBackend;
use crosscheck_spec::{Backend, Op, Problem};

fn external() -> Arc<dyn Backend> {
    Arc::new(GemmBackend)
}

#[test]
fn the_default_matrix_passes_on_third_party_kernels() {
    let report = run_matrix(&[external()], &Plan::default(), &|_| true, &());
    assert_eq!(report.cells.len(), 3, "gemm f32/f16 and matrixmultiply f32");
    for (key, status) in &report.cells {
        assert!(
            matches!(status, CellStatus::Pass { .. }),
            "{} {}: {status:?}",
            key.row(),
            key.variant
        );
    }
}

#[test]
fn random_shapes_pass_on_third_party_kernels() {
    let backend = external();
    for kernel in ["gemm", "matrixmultiply"] {
        for variant in runnable_variants(backend.as_ref(), (Op::Matmul, kernel)) {
            let strategy = shapes::case(Op::Matmul, backend.name(), kernel, variant);
            if let Err(failure) = check_property(&backend, strategy) {
                panic!("{kernel} {variant}: {failure}");
            }
        }
    }
}

#[test]
fn a_wrapper_that_reads_b_transposed_is_caught_with_a_small_repro() {
    let backend: Arc<dyn Backend> = Arc::new(SwappedB {
        inner: GemmBackend,
        name: "external-gemm-swapped-b",
    });
    for kernel in ["gemm", "matrixmultiply"] {
        let variant = runnable_variants(backend.as_ref(), (Op::Matmul, kernel))[0];
        let strategy = shapes::case(Op::Matmul, backend.name(), kernel, variant);
        let minimal = smallest_failure(&backend, strategy, crosscheck::testing::config())
            .expect("proptest ran")
            .unwrap_or_else(|| panic!("{kernel}: the swapped B went unnoticed"));
        let Problem::Matmul(p) = minimal.problem else {
            unreachable!()
        };
        // A transposed read needs k ≥ 2 and n ≥ 2 to show; shrinking gets there every time.
        assert_eq!(
            (p.batch, p.m, p.n, p.k),
            (1, 1, 2, 2),
            "not shrunk: {minimal}"
        );
    }
}

/// The gemm crate's f16 matmul declares an f16 accumulator, whose bound γ_k(2⁻¹¹) is infinite
/// from k = 2048 on: such a case says its bound is vacuous (a finding, never a plain pass),
/// while one product shorter is still judged.
#[test]
fn a_vacuous_bound_is_a_finding_not_a_pass() {
    let backend = external();
    let judged = |id: &str| {
        let case: crosscheck::Case = id.parse().unwrap();
        match crosscheck::run_case(&backend, &case).unwrap() {
            crosscheck::CaseResult::Judged { verdict, .. } => verdict,
            other => panic!("{id}: {other:?}"),
        }
    };
    let vacuous = judged("matmul.gemm:external-gemm:f16:b1m2n3k2048.rr:uniform:0x1");
    assert!(vacuous.passed(), "{:?}", vacuous.failures);
    assert!(
        vacuous
            .findings
            .iter()
            .any(|f| f.contains("vacuous bound") && f.contains("6 of 6 elements")),
        "{:?}",
        vacuous.findings
    );
    let judged_case = judged("matmul.gemm:external-gemm:f16:b1m2n3k2047.rr:uniform:0x1");
    assert!(judged_case.passed() && judged_case.findings.is_empty());
}
