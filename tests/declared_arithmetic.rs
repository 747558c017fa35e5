//! The rounding of the arithmetic and the NaN/infinity semantics are declared parts of the
//! contract: a kernel that sums with round-toward-zero passes the faithful bound and fails the
//! nearest one; a kernel that saturates NaN and infinities (as a finite-math device may) gives
//! a finding when declared finite-only and fails when declared IEEE; and the wgpu adapters are
//! faithful and finite-only unless declared IEEE.

use std::sync::Arc;

use crosscheck::guards::GuardReport;
use crosscheck::judge::judge;
use crosscheck::run::expect::expectation;
use crosscheck::testing::Altered;
use crosscheck::{Case, CaseResult, Distribution, run_case};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{
    Arithmetic, Backend, HostTensor, Layout, MatmulProblem, NonFinite, NumericContract,
    OutputBuffer, Precision, Problem, Variant, VariantInfo,
};

const F32: Variant = Variant::portable(Precision::F32);

/// `x` rounded toward zero from the f32 `rounded` to nearest and its exact error `error`.
fn toward_zero(rounded: f32, error: f32) -> f32 {
    if error != 0.0 && (error > 0.0) != (rounded > 0.0) {
        // Rounding to nearest went away from zero: step one ulp back toward zero.
        f32::from_bits(rounded.to_bits() - 1)
    } else {
        rounded
    }
}

/// a + b rounded toward zero (TwoSum gives the exact error of the nearest sum).
fn add_rz(a: f32, b: f32) -> f32 {
    let s = a + b;
    let bb = s - a;
    let error = (a - (s - bb)) + (b - bb);
    toward_zero(s, error)
}

/// a · b rounded toward zero (an FMA gives the exact error of the nearest product).
fn mul_rz(a: f32, b: f32) -> f32 {
    let p = a * b;
    toward_zero(p, a.mul_add(b, -p))
}

/// An f32 row-major matmul whose every product and sum rounds toward zero.
fn matmul_rz(p: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> Vec<f32> {
    let (a, b) = (a.to_f32(), b.to_f32());
    let mut c = vec![0.0f32; p.m * p.n];
    for i in 0..p.m {
        for j in 0..p.n {
            let mut sum = 0.0f32;
            for kk in 0..p.k {
                sum = add_rz(sum, mul_rz(a[i * p.k + kk], b[kk * p.n + j]));
            }
            c[i * p.n + j] = sum;
        }
    }
    c
}

fn tensor(shape: Vec<usize>, values: &[f32]) -> HostTensor {
    HostTensor {
        shape,
        layout: Layout::RowMajor,
        precision: Precision::F32,
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// 1 + k terms of 0.99 ulp(1) each: round to nearest rounds every sum up, round toward zero
/// leaves it at 1, losing 0.99 ulp per addition — twice what a nearest-rounding bound allows.
#[test]
fn round_toward_zero_passes_the_faithful_bound_and_fails_the_nearest_one() {
    let k = 4097;
    let p = MatmulProblem {
        batch: 1,
        m: 1,
        n: 1,
        k,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    };
    let tiny = 0.99 * f32::EPSILON;
    let a: Vec<f32> = std::iter::once(1.0)
        .chain(std::iter::repeat_n(tiny, k - 1))
        .collect();
    let (a, b) = (
        tensor(vec![1, 1, k], &a),
        tensor(vec![1, k, 1], &vec![1.0; k]),
    );
    let c = matmul_rz(&p, &a, &b);
    assert_eq!(c[0], 1.0, "round toward zero never leaves 1");
    let mut output = OutputBuffer::new(Precision::F32, 1, 0);
    output.write(0, c[0]);
    let case = Case {
        kernel: "rz".into(),
        backend: "software".into(),
        variant: F32,
        problem: Problem::Matmul(p),
        distribution: Distribution::Uniform,
        seed: 0,
    };
    let verdict = |arithmetic| {
        let contract = NumericContract {
            arithmetic,
            ..NumericContract::IEEE_F32
        };
        let expected = expectation(&case, &[a.clone(), b.clone()], &contract);
        judge(&contract, &expected, &output, &GuardReport::default())
    };
    let nearest = verdict(Arithmetic::Nearest);
    assert!(!nearest.passed(), "round toward zero met a nearest bound");
    assert!(nearest.worst_ratio > 1.5, "{}", nearest.worst_ratio);
    let faithful = verdict(Arithmetic::Faithful);
    assert!(faithful.passed(), "{:?}", faithful.failures);
}

/// The CPU's kernels, but NaN outputs become 0 and infinities the largest finite value (a
/// saturation mode like Ascend's), declared with `non_finite`.
fn saturates(non_finite: NonFinite) -> impl Backend + use<> {
    Altered {
        inner: CpuBackend,
        name: "cpu",
        declare: move |v: &mut VariantInfo| v.contract.non_finite = non_finite,
        after: saturate,
    }
}

/// NaN → 0, ±∞ → ± the largest finite value, in place.
fn saturate(_: &Problem, output: &mut OutputBuffer) {
    let precision = output.precision();
    for i in 0..output.len() {
        let x = precision.decode(&output.payload()[i * precision.bytes()..]);
        if x.is_nan() {
            output.write(i, 0.0);
        } else if x.is_infinite() {
            output.write(i, (precision.max_finite() as f32).copysign(x));
        }
    }
}

fn specials_verdicts(non_finite: NonFinite) -> Vec<crosscheck::Verdict> {
    let backend: Arc<dyn Backend> = Arc::new(saturates(non_finite));
    ["b2m33n31k65.rc", "b1m40n37k70.rr"]
        .iter()
        .map(|shape| {
            let case: Case = format!("matmul.naive:cpu:f32:{shape}:specials:0x5ef6")
                .parse()
                .unwrap();
            match run_case(&backend, &case).unwrap() {
                CaseResult::Judged { verdict, .. } => verdict,
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn non_finite_cases_are_findings_on_a_finite_only_device_and_failures_on_an_ieee_one() {
    for verdict in specials_verdicts(NonFinite::FiniteOnly) {
        assert!(verdict.passed(), "{:?}", verdict.failures);
        assert!(
            verdict
                .findings
                .iter()
                .any(|f| f.contains("non-finite case on a finite-math device")
                    && f.contains("where IEEE gives")),
            "{:?}",
            verdict.findings
        );
    }
    for verdict in specials_verdicts(NonFinite::Ieee) {
        assert!(!verdict.passed(), "saturation passed as IEEE");
    }
}

/// A finite-only declaration does not excuse a wrong finite result: the correct CPU kernel
/// passes a finite case whatever it declares, and a broken one fails it.
#[test]
fn finite_cases_are_judged_as_before_on_a_finite_only_device() {
    let backend: Arc<dyn Backend> = Arc::new(saturates(NonFinite::FiniteOnly));
    let case: Case = "matmul.naive:cpu:f32:b1m7n5k3.cr:normal:0x1"
        .parse()
        .unwrap();
    let passed = matches!(
        run_case(&backend, &case).unwrap(),
        CaseResult::Judged { verdict, .. } if verdict.passed() && verdict.findings.is_empty()
    );
    assert!(passed);
    let broken: Arc<dyn Backend> = Arc::new(crosscheck::testing::SwappedB {
        inner: saturates(NonFinite::FiniteOnly),
        name: "cpu",
    });
    let failed = matches!(
        run_case(&broken, &case).unwrap(),
        CaseResult::Judged { verdict, .. } if !verdict.passed()
    );
    assert!(failed, "a wrong finite result was excused");
}
