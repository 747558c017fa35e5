//! Per-element error allowances derived from a kernel's declared contract (see docs/numerics.md).

use crosscheck_reference::attention::AttentionRow;
use crosscheck_spec::{
    Accumulator, AttentionProblem, NumericContract, QuantFamily, QuantFormat, QuantMatmulProblem,
    Softmax, Subnormals,
};

/// Unit roundoff of the f64 oracle.
const ORACLE_UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 53) as f64;

/// γ_n(u) = n·u / (1 − n·u): the relative error bound of n rounded operations. Infinite when
/// n·u ≥ 1 (the bound says nothing).
pub fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    if nu < 1.0 {
        nu / (1.0 - nu)
    } else {
        f64::INFINITY
    }
}

/// Widening of an allowance that scales with a gauge the oracle computed in f64.
///
/// The oracle's gauge ĝ is a sum of `terms` nonnegative terms, each rounded at most `terms` times
/// on its way (a product exact or rounded once, then at most `terms` − 1 additions, in any
/// order), so ĝ ≥ (1 − γ_terms)·G for the exact gauge G, and G ≤ ĝ/(1 − γ_terms) ≤ ĝ·(1 + γ_{2·terms}).
/// The 16 extra roundings cover the at most eight f64 roundings of evaluating the allowance itself
/// (the γ's, their sum, this factor, the product with the gauge and the underflow floor), each a
/// factor of at least 1 − 2^-53. Infinite when the bound says nothing. See docs/numerics.md.
pub fn gauge_rounding_factor(terms: usize) -> f64 {
    1.0 + gamma(2 * terms + 16, ORACLE_UNIT_ROUNDOFF)
}

/// Absolute error one underflowing operation may add: half the smallest subnormal with gradual
/// underflow, the smallest normal when subnormal results may be flushed.
pub fn underflow_error(contract: &NumericContract) -> f64 {
    let acc = contract.accumulator;
    match contract.subnormals {
        Subnormals::Preserved => acc.unit_roundoff() * acc.min_normal(),
        Subnormals::MayFlush => acc.min_normal(),
    }
}

/// Allowed accumulated error of each element of a matmul with dot products of length `k`, before
/// the final rounding to the output precision:
/// (γ_k(u_acc) + γ_k(u_f64))·(1 + γ_{2k+16}(u_f64))·ĝ + 2k·η, with ĝ the oracle's gauge.
/// The first term covers any summation order (and fused or unfused multiply-adds), the second
/// the oracle's own f64 rounding, the factor the rounding of ĝ itself and of this evaluation
/// ([`gauge_rounding_factor`]), the last underflow in the k products and k sums.
pub fn matmul(contract: &NumericContract, k: usize, gauge: &[f64]) -> Vec<f64> {
    let relative = (gamma(k, contract.unit_roundoff()) + gamma(k, ORACLE_UNIT_ROUNDOFF))
        * gauge_rounding_factor(k);
    let floor = 2.0 * k as f64 * underflow_error(contract);
    gauge.iter().map(|g| relative * g + floor).collect()
}

/// Allowed accumulated error of each output of a quantized matmul (docs/numerics.md).
///
/// The quantization is the format's error, not the kernel's: the oracle multiplies the exactly
/// dequantized operands. With an exact i32 accumulator (int8 × int8, also with an i32 bias added
/// to the sum before scaling, exactly) the only rounding is the final scaling — the i32 sum converted to f32 and multiplied by two f32 scales — so the
/// allowance is γ₃(u)·|y|. Otherwise each product of a block (exact in f32 for E4M3 codes and for
/// f16 scale × 8-bit codes, one rounding for f32 activations) passes through at most k − 1
/// additions and two scalings: (γ_{k+2}(u) + γ_k(u_f64))·Σ|a||w| + 2(k + 2)·η. Both are
/// widened by [`gauge_rounding_factor`] for the rounding of the oracle's |y| (two roundings) or
/// gauge (k terms) and of the allowance's own evaluation.
pub fn qmatmul(
    contract: &NumericContract,
    p: &QuantMatmulProblem,
    values: &[f64],
    gauge: &[f64],
) -> Vec<f64> {
    let f32_u = Accumulator::F32.unit_roundoff();
    let eta = underflow_error(&NumericContract {
        accumulator: Accumulator::F32,
        ..*contract
    });
    let bias_after = matches!(
        p.weights,
        QuantFormat::W8A8BiasF32 | QuantFormat::W8A8BiasBf16
    );
    if p.weights.family() == QuantFamily::W8A8Bias && contract.accumulator != Accumulator::I32 {
        // The epilogue bounds below rest on the exact i32 sum: without it nothing is bounded.
        return vec![f64::INFINITY; values.len()];
    }
    if bias_after {
        return bias_after_scaling(contract, p.weights, values, gauge, eta);
    }
    if contract.accumulator == Accumulator::I32 {
        let scaling_u = f32_u * contract.arithmetic.factor();
        let relative =
            (gamma(3, scaling_u) + gamma(2, ORACLE_UNIT_ROUNDOFF)) * gauge_rounding_factor(2);
        return values
            .iter()
            .map(|y| relative * y.abs() + 3.0 * eta)
            .collect();
    }
    scaled_blocks(contract, p.k, gauge)
}

/// Allowed accumulated error of each output of a product with scaled blocks along k (Q8_0 and
/// Q4_0 weights, FP8 with DeepSeek-style 1×128 and 128×128 scales, as in the quantized matmul
/// and the FP8 grouped GEMMs), before the final rounding: each product of a block is rounded at
/// most once, then passes through at most k − 1 additions and two scalings, so
/// (γ_{k+2}(u) + γ_k(u_f64))·(1 + γ_{2k+16}(u_f64))·Σ|a||w| + 2(k + 2)·η, with η that of an f32
/// accumulator.
pub fn scaled_blocks(contract: &NumericContract, k: usize, gauge: &[f64]) -> Vec<f64> {
    let eta = underflow_error(&NumericContract {
        accumulator: Accumulator::F32,
        ..*contract
    });
    let u = contract.unit_roundoff();
    let relative = (gamma(k + 2, u) + gamma(k, ORACLE_UNIT_ROUNDOFF)) * gauge_rounding_factor(k);
    let floor = 2.0 * (k + 2) as f64 * eta;
    gauge.iter().map(|g| relative * g + floor).collect()
}

/// The bias-after-scaling epilogues (docs/numerics.md): the exact i32 sum converted to f32, two
/// scalings and the bias addition are four f32 roundings of terms bounded by the gauge
/// g = |Σ q_a·q_w·s_a·s_w| + |bias|, so γ₄(u)·g (plus γ₃ of the f64 oracle and 4η); a bf16
/// output adds one more rounding, to bf16, of a result within that of |y|: 2⁻⁸·(|y| + E) plus
/// bf16's own underflow (half its smallest subnormal, 2⁻¹³⁴, or 2⁻¹²⁶ where subnormals flush).
fn bias_after_scaling(
    contract: &NumericContract,
    weights: QuantFormat,
    values: &[f64],
    gauge: &[f64],
    eta: f64,
) -> Vec<f64> {
    let u = Accumulator::F32.unit_roundoff() * contract.arithmetic.factor();
    let relative = (gamma(4, u) + gamma(3, ORACLE_UNIT_ROUNDOFF)) * gauge_rounding_factor(3);
    let bf16_eta = match contract.subnormals {
        Subnormals::Preserved => crosscheck_spec::pow2(-134),
        Subnormals::MayFlush => crosscheck_spec::pow2(-126),
    };
    values
        .iter()
        .zip(gauge)
        .map(|(y, g)| {
            let f32_error = relative * g + 4.0 * eta;
            if weights == QuantFormat::W8A8BiasBf16 {
                let bf16_u = crosscheck_spec::pow2(-8);
                f32_error + bf16_u * (y.abs() + f32_error) * gauge_rounding_factor(1) + bf16_eta
            } else {
                f32_error
            }
        })
        .collect()
}

/// Allowed accumulated error of each output of the routed MoE combination
/// `Y[t] = Σ_j w_j · Σ_i x_i·b_ij` over `top_k` slots and dot products of length `k`, before the
/// final rounding (docs/numerics.md, "MoE grouped GEMMs").
///
/// `Y[t, c]` is a sum of T = top_k·k terms w·x·b. However a kernel orders it — per slot a dot
/// product, scaled, then summed over the slots; or the weight folded into X first; or one running
/// sum over everything — each term passes through at most two multiplications and T − 1
/// additions: T + 1 roundings. With the gauge ĝ = Σ_j |w_j|·Σ_i |x_i·b_ij| the relative part is
/// (γ_{T+1}(u) + γ_{T+1}(u_f64))·(1 + γ_{2(T+1)+16}(u_f64))·ĝ (the oracle's own path, a slot's
/// dot product, its scaling and the sum over slots, is no longer). Underflow: the first
/// product of a term may lose η, which the last factor (of magnitude at most F) multiplies, and
/// the second product and every addition another η, so 2(T + 1)·(1 + F)·η with F the largest
/// finite |w|, |x| or |b| of the token (`largest[t]`).
pub fn routed(
    contract: &NumericContract,
    k: usize,
    top_k: usize,
    n: usize,
    gauge: &[f64],
    largest: &[f64],
) -> Vec<f64> {
    let roundings = top_k.saturating_mul(k).saturating_add(1);
    let relative = (gamma(roundings, contract.unit_roundoff())
        + gamma(roundings, ORACLE_UNIT_ROUNDOFF))
        * gauge_rounding_factor(roundings);
    let eta = underflow_error(contract);
    gauge
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let factor = 1.0 + largest[i / n.max(1)];
            relative * g + 2.0 * roundings as f64 * factor * eta
        })
        .collect()
}

/// Allowed accumulated error of each output of the routed MoE combination over FP8 block-scaled
/// operands (1×128 activation tiles, 128×128 weight blocks), before the final rounding
/// (docs/numerics.md, "MoE grouped GEMMs").
///
/// `Y[t, c]` is a sum of T = top_k·k terms w_j·(q_x·q_w)·s_x·s_w. However a kernel orders it
/// — per 128-block a dot product of codes, scaled by both scales, summed over the blocks, times
/// the routing weight, summed over the slots; or the weight folded into a scale; or the codes
/// dequantized first — each term passes through at most one rounded product of two values,
/// three more multiplications (two scales and the weight) and T − 1 additions: T + 3
/// roundings. With the gauge ĝ = Σ_j |w_j|·Σ_i |x_i·b_ij| of the dequantized operands the
/// relative part is (γ_{T+3}(u) + γ_{T+3}(u_f64))·(1 + γ_{2(T+3)+16}(u_f64))·ĝ. Underflow,
/// with η of an f32 accumulator: each of the T + 3 operations may lose η, which at most two
/// later factors multiply, each at most F (`largest[t]`: the token's largest routing weight,
/// scale or block dot product of codes), so 2(T + 3)·(1 + F)²·η.
pub fn routed_scaled_blocks(
    contract: &NumericContract,
    k: usize,
    top_k: usize,
    n: usize,
    gauge: &[f64],
    largest: &[f64],
) -> Vec<f64> {
    let roundings = top_k.saturating_mul(k).saturating_add(3);
    let relative = (gamma(roundings, contract.unit_roundoff())
        + gamma(roundings, ORACLE_UNIT_ROUNDOFF))
        * gauge_rounding_factor(roundings);
    let eta = underflow_error(&NumericContract {
        accumulator: Accumulator::F32,
        ..*contract
    });
    gauge
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let factor = 1.0 + largest[i / n.max(1)];
            relative * g + 2.0 * roundings as f64 * factor * factor * eta
        })
        .collect()
}

/// Below this many units under the row's maximum, exp(x) falls out of f32's normal range
/// (ln 2^-126 ≈ −87.3): such a weight may be flushed or lose all relative accuracy.
const EXP_UNDERFLOW_ARGUMENT: f64 = 87.0;

/// What the attention and log-sum-exp bounds share for one row with visible keys: per key, the
/// bound on its log-weight perturbation upwards (`upper`, E_j) and downwards (`lower`, E⁻_j,
/// infinite where the weight may underflow), and the perturbed weight sums Z⁻ and Z⁺.
pub struct Perturbations {
    /// u of the contract plus the oracle's 2⁻⁵³.
    pub u: f64,
    /// The underflow allowance η of one operation.
    pub eta: f64,
    /// Key slots of the row's loops ([`RowGeometry::keys`]).
    pub keys: usize,
    /// Rescalings of the online softmax (0 for two-pass).
    pub rescales: usize,
    /// Whether each visible key's score is finite.
    pub finite: Vec<bool>,
    /// E_j.
    pub upper: Vec<f64>,
    /// E⁻_j.
    pub lower: Vec<f64>,
    /// Z⁻ = Σ w_j·e^(−E⁻_j).
    pub z_low: f64,
    /// Z⁺ = Σ w_j·e^(E_j).
    pub z_high: f64,
}

/// Steps 1 and 2 of the attention bound (docs/numerics.md) for a row with visible keys: every
/// error before the final division — the score's dot product and scale, the rounding of
/// s − max, exp's error, and the online softmax's rescale factors — multiplies a key's
/// unnormalised weight by exp(e_j) with −E⁻_j ≤ e_j ≤ E_j.
pub fn perturbations(
    contract: &NumericContract,
    p: &RowGeometry,
    row: &AttentionRow,
) -> Perturbations {
    let u = contract.unit_roundoff() + ORACLE_UNIT_ROUNDOFF;
    let f = &contract.functions;
    let eta = underflow_error(contract);
    let keys = p.keys;
    let rescales = match contract.softmax {
        Softmax::TwoPass => 0,
        Softmax::Online { key_tile } => keys.div_ceil(key_tile.max(1)),
    };
    // A computed default scale carries its own relative error; a custom one is used as given.
    let scale_error = if p.custom_scale {
        0.0
    } else {
        f.inverse_sqrt_ulp * 2.0 * u
    };
    let scale = p.scale.abs();
    // The score gauge |σ|·Σ|q||k| is a sum of d_qk exact products, times the oracle's σ (itself
    // two roundings from 1/√d_qk): at most d_qk + 2 roundings from the exact gauge.
    let gauge_factor = gauge_rounding_factor(p.d_qk + 2);
    let score_error: Vec<f64> = row
        .scores
        .iter()
        .zip(row.score_gauge)
        .map(|(s, g)| {
            gamma(p.d_qk + 1, u) * gauge_factor * g
                + scale_error * s.abs()
                + 2.0 * (p.d_qk + 1) as f64 * eta * scale.max(1.0)
        })
        .collect();
    // Keys scoring −∞ (an infinite input) get weight exactly 0 in the kernel and the oracle
    // alike, and stay out of the analysis; any other non-finite score makes the row NaN or ∞,
    // which the judge checks exactly.
    let finite: Vec<bool> = row.scores.iter().map(|s| s.is_finite()).collect();
    let worst_score_error = score_error
        .iter()
        .zip(&finite)
        .filter(|(_, f)| **f)
        .map(|(e, _)| *e)
        .fold(0.0, f64::max);
    let max = row
        .scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    // Per key: the bound E_j on its log-weight perturbation, and whether it may underflow.
    let (mut upper, mut lower) = (
        Vec::with_capacity(row.keys.len()),
        Vec::with_capacity(row.keys.len()),
    );
    for ((s, eps), is_finite) in row.scores.iter().zip(&score_error).zip(&finite) {
        if !is_finite {
            upper.push(0.0);
            lower.push(0.0);
            continue;
        }
        // How far below the subtracted maximum the computed exponent argument can be.
        let x = (max - s) + eps + worst_score_error;
        // Rounding of s − max (u·x), exp's error (a + b·x ulps, 1 ulp ≤ 2u), and R rescale
        // factors whose arguments add up to at most x.
        let relative =
            2.0 * u * f.exp_ulp * (1 + rescales) as f64 + u * x * (2.0 + 4.0 * f.exp_ulp_per_unit);
        let log_error = if relative < 1.0 {
            relative / (1.0 - relative)
        } else {
            f64::INFINITY
        };
        let e = eps + log_error;
        upper.push(e);
        lower.push(if x > EXP_UNDERFLOW_ARGUMENT {
            f64::INFINITY
        } else {
            e
        });
    }
    let z_low: f64 = row
        .weights
        .iter()
        .zip(&lower)
        .map(|(w, e)| w * (-e).exp())
        .sum();
    let z_high: f64 = row
        .weights
        .iter()
        .zip(&upper)
        .map(|(w, e)| w * e.exp())
        .sum();
    Perturbations {
        u,
        eta,
        keys,
        rescales,
        finite,
        upper,
        lower,
        z_low,
        z_high,
    }
}

/// Allowed accumulated error of each output of one attention row (docs/numerics.md derives it).
///
/// Every error before the final division — the score's dot product and scale, the rounding of
/// s − max, exp's error, and the online softmax's rescale factors — multiplies a key's
/// unnormalised weight by exp(e_j) with |e_j| ≤ E_j. The normalised weights then move by at most
/// a factor r_j, and because both sets of weights sum to 1 the output moves by at most
/// Σ w_j·r_j·|v_j − o| (zero when V is constant along keys, or for a single visible key). The
/// P·V sums, the sum of weights, the rescalings and the division add γ_N·Σ ŵ_j|v_j|.
pub fn attention(
    contract: &NumericContract,
    p: &AttentionProblem,
    row: &AttentionRow,
    out: &mut [f64],
) {
    attention_row(contract, &RowGeometry::of(p), row, out);
}

/// What the attention bound needs to know about the launch a row belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RowGeometry {
    /// Key slots a row's loops run over (len_kv; topk for sparse attention): the number of
    /// terms in its sums and, with an online softmax, of its key tiles.
    pub keys: usize,
    /// Width of queries and keys.
    pub d_qk: usize,
    /// The scale the oracle used.
    pub scale: f64,
    /// Whether the scale was given (as the f32 the kernel uses) rather than computed.
    pub custom_scale: bool,
}

impl RowGeometry {
    /// The geometry of a row of dense attention problem `p`.
    pub fn of(p: &AttentionProblem) -> RowGeometry {
        RowGeometry {
            keys: p.len_kv,
            d_qk: p.d_qk,
            scale: crosscheck_reference::attention::scale(p),
            custom_scale: p.custom_scale().is_some(),
        }
    }
}

/// The attention bound of one row (see [`attention`]) for a row of `geometry`; sparse
/// attention uses it with its index lists' valid entries as the row's keys.
pub fn attention_row(
    contract: &NumericContract,
    p: &RowGeometry,
    row: &AttentionRow,
    out: &mut [f64],
) {
    if row.keys.is_empty() {
        out.fill(0.0); // the output is exactly zero
        return;
    }
    let f = &contract.functions;
    let Perturbations {
        u,
        eta,
        keys,
        rescales,
        finite,
        upper,
        lower,
        z_low,
        z_high,
    } = perturbations(contract, p, row);
    let factor: Vec<f64> = upper
        .iter()
        .zip(&lower)
        .map(|(up, low)| (up.exp() / z_low - 1.0).max(1.0 - (-low).exp() / z_high))
        .collect();
    // Rounded operations each term of the output passes through: its product, the sums and the
    // rescalings of the output (keys + 1 + R), twice those of the weight sum it is divided by
    // (2·(keys + R)), and the division.
    let roundings =
        (keys + 1 + rescales) + 2 * (keys + rescales) + (2.0 * f.div_ulp).ceil() as usize;
    // A key whose weight may underflow to zero in the kernel turns an infinite value into
    // 0·∞ = NaN there, where the oracle's weight is tiny but positive and its output ±∞: such
    // an element may be NaN too, which a NaN allowance says (see `judge::judge`).
    let may_vanish: Vec<bool> = lower
        .iter()
        .zip(&finite)
        .map(|(low, is_finite)| *is_finite && low.is_infinite())
        .collect();
    let d_v = out.len();
    for (c, slot) in out.iter_mut().enumerate() {
        let o = row.output[c];
        let vanishing_infinity =
            (0..row.keys.len()).any(|jj| may_vanish[jj] && row.values[jj * d_v + c].is_infinite());
        if !o.is_finite() {
            // Judged exactly; NaN allowed too where a weight under an infinite value may vanish.
            *slot = if o.is_infinite() && vanishing_infinity {
                f64::NAN
            } else {
                0.0
            };
            continue;
        }
        let (mut moved, mut gauge) = (0.0, 0.0);
        for (jj, (w, r)) in row.weights.iter().zip(&factor).enumerate() {
            if *w == 0.0 {
                continue; // contributes nothing (and 0·∞ would poison the bound)
            }
            let v = row.values[jj * d_v + c];
            moved += w * r * (v - o).abs();
            gauge += w * (1.0 + r) * v.abs();
        }
        *slot = moved + gamma(roundings, u) * gauge + 2.0 * roundings as f64 * eta;
    }
}

/// Allowed error of one row's log-sum-exp L = ln Σ_j exp(s_j) (MLA's second output, in f32;
/// docs/numerics.md derives it).
///
/// The kernel adds back the maximum it subtracted, so its value is
/// ln Σ_j exp(s_j + e_j) + ln(1 + θ) + (log's error) + (the final addition's rounding), with
/// the same per-key perturbations e_j as the output's bound ([`perturbations`]) and θ the
/// rounding of the weight sum (keys + R additions and rescalings). ln Σ exp(s_j + e_j) − L lies
/// between ln Z⁻ and ln Z⁺. An empty row's +∞ and a non-finite L are judged exactly.
pub fn log_sum_exp(
    contract: &NumericContract,
    p: &AttentionProblem,
    row: &AttentionRow,
    lse: f64,
) -> f64 {
    if row.keys.is_empty() || !lse.is_finite() {
        return 0.0;
    }
    let f = &contract.functions;
    let w = perturbations(contract, &RowGeometry::of(p), row);
    if w.z_low <= 0.0 {
        return f64::INFINITY;
    }
    let sum_roundings = w.keys + w.rescales;
    let theta = gamma(sum_roundings, w.u);
    // |ln(1 + θ)| ≤ θ / (1 − θ), plus what underflowing additions can lose against a sum ≥ 1/2.
    let sum_error = theta / (1.0 - theta) + 4.0 * sum_roundings as f64 * w.eta;
    let before_log = w.z_high.ln().max(-w.z_low.ln()) + sum_error;
    // The kernel's log argument Σ exp(ŝ_j − m̂): its log is L − m̂, within `before_log` and the
    // score errors (each below its E_j) of L − m ∈ [0, ln n].
    let max = row
        .scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let worst = w.upper.iter().copied().fold(0.0, f64::max);
    let log_magnitude = (lse - max).abs() + before_log + 2.0 * worst;
    let log_error = f.log_abs + f.log_ulp * 2.0 * w.u * log_magnitude;
    let mut e = before_log + log_error;
    // m̂ + ln(...) rounds once; the oracle's own f64 sum, log and addition cost (keys + 3)·2⁻⁵³.
    e += w.u * (lse.abs() + e);
    e += gamma(w.keys + 3, ORACLE_UNIT_ROUNDOFF) * (lse.abs() + log_magnitude + 1.0);
    e * gauge_rounding_factor(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_factor_bounds_the_exact_gauge_from_the_computed_one() {
        // 1/(1 − γ_n) = 1 + n·u/(1 − 2n·u) ≤ 1 + γ_2n, with room for the evaluation's roundings.
        for n in [1, 2, 100, 4096, 1 << 20] {
            let (u, f) = (ORACLE_UNIT_ROUNDOFF, gauge_rounding_factor(n));
            assert!(f >= 1.0 / (1.0 - gamma(n, u)) + 8.0 * u, "{n}");
            assert!(f < 1.0 + 4.0 * (n + 8) as f64 * u, "{n}");
        }
    }

    #[test]
    fn matmul_allowance_covers_the_gauge_rounding() {
        let contract = NumericContract::IEEE_F32;
        let k = 1000;
        let plain = gamma(k, Accumulator::F32.unit_roundoff()) + gamma(k, ORACLE_UNIT_ROUNDOFF);
        let e = matmul(&contract, k, &[1.0])[0] - 2.0 * k as f64 * underflow_error(&contract);
        assert!(e >= plain * (1.0 + gamma(2 * k, ORACLE_UNIT_ROUNDOFF)));
        assert!(e <= plain * (1.0 + 1e-11));
    }

    #[test]
    fn gamma_is_the_textbook_constant() {
        let u = (2.0f64).powi(-24);
        assert_eq!(gamma(1, u), u / (1.0 - u));
        let nu = 1000.0 * u;
        assert!(gamma(1000, u) > nu && gamma(1000, u) < nu * (1.0 + 2.0 * nu));
        assert_eq!(gamma(1 << 24, u), f64::INFINITY);
    }
}
