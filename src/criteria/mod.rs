//! The criteria other suites judge with, as alternative judges that report but never decide:
//! llama.cpp's NMSE threshold, PyTorch's `assert_close` defaults, FlashAttention's "twice the
//! naive low-precision error" rule, and DeepGEMM's similarity for FP8. `crosscheck criteria`
//! runs them side by side with crosscheck's own verdict on the same cases and mutants.

mod lowp;
pub mod study;

use crosscheck_spec::{Op, Precision, Problem, QuantFormat};

use crate::case::Case;
use crate::judge::Verdict;
use crate::run::cell::Observed;

/// A way of deciding that an output is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// crosscheck's verdict: derived per-element bounds, exact tiers, guards.
    Crosscheck,
    /// llama.cpp test-backend-ops: NMSE ≤ 5e-4 against the reference (and NaN/∞ where it has them).
    LlamaNmse,
    /// `torch.testing.assert_close` defaults: |out − ref| ≤ atol + rtol·|ref| per element, per dtype.
    TorchAssertClose,
    /// FlashAttention's tests: max error ≤ 2 × the max error of the naive algorithm run in the
    /// storage precision.
    FlashAttention2x,
    /// DeepGEMM's FP8 check: 1 − 2·Σxy / Σ(x² + y²) < 1e-3.
    DeepGemmDiff,
}

impl Criterion {
    /// Every criterion, crosscheck's first.
    pub const ALL: [Criterion; 5] = [
        Criterion::Crosscheck,
        Criterion::LlamaNmse,
        Criterion::TorchAssertClose,
        Criterion::FlashAttention2x,
        Criterion::DeepGemmDiff,
    ];

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Crosscheck => "crosscheck (derived bounds, exact tiers, guards)",
            Criterion::LlamaNmse => "llama.cpp NMSE ≤ 5e-4",
            Criterion::TorchAssertClose => "torch assert_close defaults",
            Criterion::FlashAttention2x => "FlashAttention 2× naive low-precision error",
            Criterion::DeepGemmDiff => "DeepGEMM diff < 1e-3 (FP8)",
        }
    }

    /// Whether the criterion is meant for this case (FlashAttention's rule for the float ops it
    /// has a naive low-precision version of; DeepGEMM's for FP8 matmuls and grouped GEMMs).
    pub fn applies(self, case: &Case) -> bool {
        match self {
            Criterion::FlashAttention2x => matches!(case.op(), Op::Matmul | Op::Attention),
            Criterion::DeepGemmDiff => match &case.problem {
                Problem::QuantMatmul(q) => q.weights == QuantFormat::Fp8E4M3Block,
                Problem::MoeContiguous(p) => p.fp8,
                Problem::MoeMasked(p) => p.fp8,
                _ => false,
            },
            _ => true,
        }
    }

    /// Whether the criterion calls this run wrong. A run without output (error, panic, timeout)
    /// is wrong for every criterion.
    pub fn flags(self, case: &Case, verdict: &Verdict, observed: Option<&Observed>) -> bool {
        let Some(o) = observed else { return true };
        match self {
            Criterion::Crosscheck => !verdict.passed(),
            Criterion::LlamaNmse => non_finite_mismatch(o) || nmse(o) > 5e-4,
            Criterion::TorchAssertClose => !assert_close(o),
            Criterion::FlashAttention2x => {
                let naive = lowp::naive(case, &o.inputs);
                non_finite_mismatch(o)
                    || max_error(&o.output, &o.oracle) > 2.0 * max_error(&naive, &o.oracle)
            }
            Criterion::DeepGemmDiff => non_finite_mismatch(o) || deepgemm_diff(o) >= 1e-3,
        }
    }
}

/// (output, oracle) of every element with an oracle value: all but those the kernel had to
/// leave untouched.
fn judged(o: &Observed) -> impl Iterator<Item = (&f64, &f64)> {
    o.output
        .iter()
        .zip(&o.oracle)
        .enumerate()
        .filter(|(i, _)| o.untouched.binary_search(i).is_err())
        .map(|(_, pair)| pair)
}

/// NaN or ∞ where the reference has a number, or the other way round.
fn non_finite_mismatch(o: &Observed) -> bool {
    judged(o).any(|(x, y)| x.is_finite() != y.is_finite() || (x.is_nan() != y.is_nan()))
}

/// Σ(out − ref)² / Σ ref² over elements where both are finite.
fn nmse(o: &Observed) -> f64 {
    let (mut err, mut norm) = (0.0, 0.0);
    for (x, y) in judged(o).filter(|(x, y)| x.is_finite() && y.is_finite()) {
        err += (x - y) * (x - y);
        norm += y * y;
    }
    if err == 0.0 { 0.0 } else { err / norm }
}

/// `torch.testing.assert_close` with its default tolerances for the output's dtype and its
/// default `equal_nan=False`: NaN anywhere fails, infinities must match exactly.
fn assert_close(o: &Observed) -> bool {
    let (rtol, atol) = match o.precision {
        Precision::F32 => (1.3e-6, 1e-5),
        Precision::F16 => (1e-3, 1e-5),
        Precision::BF16 => (1.6e-2, 1e-5),
        Precision::U8 => (0.0, 0.0),
    };
    judged(o).all(|(x, y)| {
        if x.is_nan() || y.is_nan() {
            false
        } else if x.is_infinite() || y.is_infinite() {
            x == y
        } else {
            (x - y).abs() <= atol + rtol * y.abs()
        }
    })
}

/// max |out − ref| over elements where the reference is finite (∞ where out is not).
fn max_error(out: &[f64], oracle: &[f64]) -> f64 {
    out.iter()
        .zip(oracle)
        .filter(|(_, y)| y.is_finite())
        .map(|(x, y)| (x - y).abs())
        .fold(
            0.0,
            |m, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
        )
}

/// 1 − 2·Σxy / Σ(x² + y²) over elements where both are finite.
fn deepgemm_diff(o: &Observed) -> f64 {
    let (mut xy, mut sq) = (0.0, 0.0);
    for (x, y) in judged(o).filter(|(x, y)| x.is_finite() && y.is_finite()) {
        xy += x * y;
        sq += x * x + y * y;
    }
    if sq == 0.0 { 0.0 } else { 1.0 - 2.0 * xy / sq }
}
