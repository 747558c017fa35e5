//! Verification at scale: Freivalds' check with a rigorous tolerance passes correct kernels and
//! catches broken outputs — a single wrong element, f16 accumulation, a transposed operand, NaN.

use std::sync::Arc;

use crosscheck::testing::contract_of;
use crosscheck::verify::freivalds::{FreivaldsPlan, verify_matmul};
use crosscheck::verify::large::{inputs, launch, problem, run_and_verify};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, MatmulProblem, NumericContract, Op, Precision, Variant};

fn cpu() -> Arc<dyn Backend> {
    Arc::new(CpuBackend)
}

fn contract(kernel: &str, variant: Variant) -> NumericContract {
    contract_of(&CpuBackend, Op::Matmul, kernel, variant).unwrap()
}

const F32: Variant = Variant::portable(Precision::F32);

/// The tiled kernel's output for a seeded problem, with what verifying it needs.
fn tiled(
    p: &MatmulProblem,
) -> (
    Vec<f64>,
    crosscheck_spec::HostTensor,
    crosscheck_spec::HostTensor,
) {
    let (a, b) = inputs(p, F32, FreivaldsPlan::default().seed);
    let (c, _) = launch(&cpu(), "tiled", F32, p, &a, &b).unwrap();
    (c, a, b)
}

#[test]
fn correct_kernels_pass_in_every_precision() {
    let p = problem(200, 136, 257);
    for kernel in ["naive", "tiled", "splitk"] {
        for variant in CpuBackend.kernels()[0].variants.iter().map(|v| v.variant) {
            let (v, _) =
                run_and_verify(&cpu(), kernel, variant, &p, &FreivaldsPlan::default()).unwrap();
            assert!(v.passed(), "{kernel} {variant}: {v:?}");
            assert!(v.worst_row_ratio < 0.5, "{kernel} {variant}: {v:?}");
        }
    }
}

#[test]
fn one_wrong_element_is_caught_by_the_projection() {
    let p = problem(160, 96, 300);
    let (mut c, a, b) = tiled(&p);
    c[37 * 96 + 95] += 4.0; // a tile-edge element: well above its row's whole allowance
    let plan = FreivaldsPlan {
        samples: 0,
        ..Default::default()
    };
    let v = verify_matmul(
        &p,
        &a,
        &b,
        &c,
        &contract("tiled", F32),
        Precision::F32,
        &plan,
    );
    assert_eq!(
        v.bad_rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [37],
        "{v:?}"
    );
}

#[test]
fn an_f16_accumulator_is_caught() {
    let p = problem(128, 128, 512);
    let (a, b) = inputs(&p, F32, 7);
    let (av, bv) = (a.to_f32(), b.to_f32());
    let mut c = vec![0.0f64; p.m * p.n];
    for i in 0..p.m {
        for j in 0..p.n {
            let mut acc = half::f16::ZERO;
            for kk in 0..p.k {
                acc = half::f16::from_f32(
                    acc.to_f32() + av[a.offset(0, i, kk)] * bv[b.offset(0, kk, j)],
                );
            }
            c[i * p.n + j] = f64::from(acc.to_f32());
        }
    }
    let v = verify_matmul(
        &p,
        &a,
        &b,
        &c,
        &contract("tiled", F32),
        Precision::F32,
        &FreivaldsPlan::default(),
    );
    assert!(!v.passed() && !v.bad_samples.is_empty(), "{v:?}");
}

#[test]
fn a_transposed_operand_and_a_nan_are_caught() {
    let p = problem(64, 64, 64);
    let (c, a, mut b) = tiled(&p);
    let contract = contract("tiled", F32);
    b.layout = crosscheck_spec::Layout::ColMajor;
    let v = verify_matmul(
        &p,
        &a,
        &b,
        &c,
        &contract,
        Precision::F32,
        &FreivaldsPlan::default(),
    );
    assert!(v.bad_rows.len() > 60, "{v:?}");
    b.layout = crosscheck_spec::Layout::RowMajor;
    let mut c = c;
    c[5] = f64::NAN;
    let v = verify_matmul(
        &p,
        &a,
        &b,
        &c,
        &contract,
        Precision::F32,
        &FreivaldsPlan::default(),
    );
    assert_eq!(v.non_finite, 1);
    assert!(!v.passed());
}
