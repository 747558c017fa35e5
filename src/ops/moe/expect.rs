//! What correct MoE kernels produce: per expert the f64 oracle's rows with the matmul bound (or,
//! for FP8 operands, the scaled-block bound), zeros or untouched elements for the rows no expert
//! owns, the routed combination's weighted sums with their bound, and the memory a case needs.

use crosscheck_reference::moe::{self, GroupedReference};
use crosscheck_spec::{
    FP8_TILE, HostTensor, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem,
    NumericContract, Padding, QuantFormat, Variant,
};

use crate::case::Case;
use crate::generate::data::exact_limit;
use crate::judge::{Tier, bound};
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle of a grouped layout with its allowances, the ownerless rows zero (no room) or
/// untouched as `padding` says.
fn grouped(
    case: &Case,
    r: GroupedReference,
    n: usize,
    k: usize,
    fp8: bool,
    padding: Padding,
    contract: &NumericContract,
) -> Expectation {
    let tier = case.tier();
    let mut allowed_error = if tier == Tier::Exact {
        assert_exact(case, &r.gauge, fp8);
        vec![0.0; r.values.len()]
    } else if fp8 {
        bound::scaled_blocks(contract, k, &r.gauge)
    } else {
        bound::matmul(contract, k, &r.gauge)
    };
    let mut untouched = Vec::new();
    for (row, expert) in r.row_experts.iter().enumerate() {
        if expert.is_some() {
            continue;
        }
        let elements = row * n..(row + 1) * n;
        match padding {
            Padding::Zero => allowed_error[elements].fill(0.0),
            Padding::Untouched => untouched.extend(elements),
        }
    }
    Expectation {
        tier,
        values: r.values,
        allowed_error,
        untouched,
    }
}

/// The exact tier's promise: every Σ|a||b| is within the limit below which every partial sum is
/// an exact f32 integer and the result exact in the output precision (FP8: 2^24, the codes and
/// scales being integers and 1).
fn assert_exact(case: &Case, gauge: &[f64], fp8: bool) {
    let limit = if fp8 {
        crosscheck_spec::pow2(24)
    } else {
        exact_limit(case.variant.precision)
    };
    let worst = gauge.iter().cloned().fold(0.0, f64::max);
    assert!(
        worst <= limit,
        "harness bug: exact-tier gauge {worst} exceeds {limit} for {case}"
    );
}

/// The oracle's rows with `msg` when the metadata is malformed (never for generated inputs).
fn metadata<T>(case: &Case, r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("malformed routing metadata in {case}: {e}"))
}

/// The contiguous layout.
pub fn contiguous(
    case: &Case,
    p: &MoeContiguousProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let r = metadata(case, moe::contiguous(p, inputs));
    grouped(case, r, p.n, p.k, p.fp8, p.padding, contract)
}

/// The masked layout.
pub fn masked(
    case: &Case,
    p: &MoeMaskedProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let r = metadata(case, moe::masked(p, inputs));
    grouped(case, r, p.n, p.k, p.fp8, p.padding, contract)
}

/// The routed combination.
pub fn routed(
    case: &Case,
    p: &MoeRoutedProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let r = metadata(case, moe::routed(p, inputs));
    let tier = case.tier();
    let allowed_error = if tier == Tier::Exact {
        // Partial sums are multiples of 1/8 (the smallest weight) below an eighth of the limit
        // (FP8: of 2^24, the codes and scales being integers and 1, as for the grouped GEMMs).
        let limit = if p.fp8 {
            crosscheck_spec::pow2(24)
        } else {
            exact_limit(case.variant.precision)
        } / 8.0;
        let worst = r.gauge.iter().cloned().fold(0.0, f64::max);
        assert!(
            worst <= limit,
            "harness bug: exact-tier gauge {worst} exceeds {limit} for {case}"
        );
        vec![0.0; r.values.len()]
    } else if p.fp8 {
        let largest = fp8_largest_factors(p, inputs);
        bound::routed_scaled_blocks(contract, p.k, p.top_k, p.n, &r.gauge, &largest)
    } else {
        let largest = largest_factors(p, inputs);
        bound::routed(contract, p.k, p.top_k, p.n, &r.gauge, &largest)
    };
    Expectation {
        tier,
        values: r.values,
        allowed_error,
        untouched: Vec::new(),
    }
}

/// Per token, the largest finite magnitude among its X row, its weights and all of W: what an
/// underflowing first product of a term may be multiplied by.
fn largest_factors(p: &MoeRoutedProblem, inputs: &[HostTensor]) -> Vec<f64> {
    let finite_max = |v: &[f32]| {
        v.iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, x| m.max(x.abs() as f64))
    };
    let w_max = finite_max(&inputs[1].to_f32());
    let x = inputs[0].to_f32();
    let weights = inputs[3].to_f32();
    (0..p.tokens)
        .map(|t| {
            finite_max(&x[t * p.k..(t + 1) * p.k])
                .max(finite_max(&weights[t * p.top_k..(t + 1) * p.top_k]))
                .max(w_max)
        })
        .collect()
}

/// Per token of an FP8 routed problem, the largest factor a term's underflow may be multiplied
/// by: its routing weights, its activation scales, every weight scale, and the largest dot
/// product of one 128-block of E4M3 codes (448² · 128).
fn fp8_largest_factors(p: &MoeRoutedProblem, inputs: &[HostTensor]) -> Vec<f64> {
    let f32s = |bytes: &[u8]| -> Vec<f64> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs() as f64)
            .filter(|v| v.is_finite())
            .collect()
    };
    let k_blocks = p.k.div_ceil(FP8_TILE);
    let n_blocks = p.n.div_ceil(FP8_TILE);
    let x_scales = f32s(&inputs[0].bytes[..4 * p.tokens * k_blocks]);
    let per_expert = QuantFormat::Fp8E4M3Block.encoded_len(p.n, p.k);
    let w_max = (0..p.experts)
        .flat_map(|e| {
            let at = e * per_expert;
            f32s(&inputs[1].bytes[at..at + 4 * n_blocks * k_blocks])
        })
        .fold(0.0f64, f64::max);
    let weights = inputs[3].to_f32();
    let codes = 448.0f64 * 448.0 * FP8_TILE as f64;
    (0..p.tokens)
        .map(|t| {
            let x = x_scales[t * k_blocks..(t + 1) * k_blocks]
                .iter()
                .fold(0.0f64, |m, v| m.max(*v));
            weights[t * p.top_k..(t + 1) * p.top_k]
                .iter()
                .fold(x.max(w_max).max(codes), |m, w| m.max(w.abs() as f64))
        })
        .collect()
}

/// Grouped inputs (A rows × k, B experts × k × n, metadata), the output, and the oracle's and
/// the kernels' copies of B (f32 and f64, FP8 also A dequantized in f64).
fn grouped_footprint(
    rows: usize,
    experts: usize,
    n: usize,
    k: usize,
    fp8: bool,
    variant: Variant,
    output_size: u128,
) -> Footprint {
    let element = variant.precision.bytes() as u128;
    let a = product(&[rows, k]);
    let b = product(&[experts, k, n]);
    let values = a.saturating_add(b);
    let stored = if fp8 {
        values.saturating_add(product(&[rows, 4]).saturating_add(product(&[experts, 4])))
    } else {
        values.saturating_mul(element)
    }
    .saturating_add(product(&[rows, 4]));
    Footprint {
        values,
        stored,
        outputs: product(&[rows, n]),
        output_size,
        scratch: values.saturating_mul(12),
    }
}

/// Memory of a contiguous case.
pub fn contiguous_footprint(
    p: &MoeContiguousProblem,
    variant: Variant,
    output_size: u128,
) -> Footprint {
    grouped_footprint(p.m, p.experts, p.n, p.k, p.fp8, variant, output_size)
}

/// Memory of a masked case.
pub fn masked_footprint(p: &MoeMaskedProblem, variant: Variant, output_size: u128) -> Footprint {
    let rows = p.experts.saturating_mul(p.max_m);
    grouped_footprint(rows, p.experts, p.n, p.k, p.fp8, variant, output_size)
}

/// Memory of a routed case: X, W, the routes, the output, and per slot an expert product row
/// (FP8: a byte per value plus the scales, and the dequantized copies in the scratch).
pub fn routed_footprint(p: &MoeRoutedProblem, variant: Variant, output_size: u128) -> Footprint {
    let element = if p.fp8 {
        1
    } else {
        variant.precision.bytes() as u128
    };
    let values = product(&[p.tokens, p.k]).saturating_add(product(&[p.experts, p.k, p.n]));
    let slots = product(&[p.tokens, p.top_k]);
    Footprint {
        values,
        stored: values
            .saturating_mul(element)
            .saturating_add(product(&[p.tokens, 4]).saturating_add(product(&[p.experts, 4])))
            .saturating_add(slots.saturating_mul(8)),
        outputs: product(&[p.tokens, p.n]),
        output_size,
        scratch: values
            .saturating_mul(12)
            .saturating_add(slots.saturating_mul(product(&[p.n, 40]))),
    }
}
