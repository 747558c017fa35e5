//! MoE inputs: the routing metadata, drawn from the case's seed like the operands, then the
//! operands by distribution.
//!
//! - Contiguous layout: `m / alignment` blocks shared among the experts (a quarter of them idle,
//!   now and then the last blocks reserved and left as padding, as when DeepGEMM's caller sizes M
//!   for the worst case); an expert with b blocks gets between (b − 1)·alignment + 1 and
//!   b·alignment rows, often exactly one of the extremes, and with `m_indices` now and then none
//!   at all (a reserved block of padding only). With `m_indices` the segments are sometimes in
//!   shuffled expert order; prefix-sum offsets are in expert order by definition.
//! - Masked layout: each count 0, max_m, 1 or anything between.
//! - Routed: each token's top-k distinct experts, a slot now and then −1 (an expert another rank
//!   holds); weights normalised gate scores, scaled by 1 or DeepSeek-V3's routed scaling factor
//!   2.5.
//!
//! Rows that belong to no expert (padding, rows past `masked_m`) hold garbage — large values and
//! now and then a NaN — as uninitialised memory would: their outputs must not depend on them.
//! The exact tier uses small integers as the matmul's does (every partial sum exact in f32 and
//! the result exact in the output precision); its FP8 version puts ±448 at the start of every
//! scale tile so that every scale is exactly 1, and small integer codes elsewhere.

use crosscheck_reference::quant;
use crosscheck_spec::{
    FP8_TILE, Grouping, HostTensor, Layout, MoeContiguousProblem, MoeMaskedProblem,
    MoeRoutedProblem, Precision, QuantFormat, i32_le_bytes,
};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{exact_limit, normal, sprinkle_specials, stream, tensor, uniform};

/// Largest magnitude of an exact-tier weight (B) integer.
const EXACT_MAX: i32 = 8;

/// The expert of each row of a contiguous problem and the grouping input's values.
pub fn contiguous_layout(
    p: &MoeContiguousProblem,
    rng: &mut ChaCha8Rng,
) -> (Vec<Option<usize>>, Vec<i32>) {
    let a = p.alignment;
    let blocks = p.m / a;
    let indices = p.grouping == Grouping::Indices;
    let reserve = if rng.random_range(0..4) == 0 {
        rng.random_range(0..=blocks / 2)
    } else {
        0
    };
    let mut active: Vec<bool> = (0..p.experts)
        .map(|_| rng.random_range(0..4) != 0)
        .collect();
    if !active.contains(&true) {
        active[rng.random_range(0..p.experts)] = true;
    }
    let chosen: Vec<usize> = (0..p.experts).filter(|&e| active[e]).collect();
    let mut alloc = vec![0usize; p.experts];
    for _ in 0..blocks - reserve {
        alloc[chosen[rng.random_range(0..chosen.len())]] += 1;
    }
    let mut order: Vec<usize> = (0..p.experts).collect();
    if indices && rng.random_range(0..4) == 0 {
        order.shuffle(rng);
    }
    let mut rows = vec![None; p.m];
    let mut offsets = vec![0i32; p.experts];
    let mut start = 0usize;
    for &e in &order {
        let b = alloc[e];
        let count = match (b, rng.random_range(0..8)) {
            (0, _) => 0,
            (_, 0 | 1) => b * a,
            (_, 2) => (b - 1) * a + 1,
            (_, 3) if indices => 0,
            _ => rng.random_range((b - 1) * a + 1..=b * a),
        };
        rows[start..start + count].fill(Some(e));
        offsets[e] = (start + count) as i32;
        start += b * a;
    }
    let values = if indices {
        rows.iter().map(|r| r.map_or(-1, |e| e as i32)).collect()
    } else {
        offsets
    };
    (rows, values)
}

/// The valid row count of each expert of a masked problem.
pub fn masked_counts(p: &MoeMaskedProblem, rng: &mut ChaCha8Rng) -> Vec<i32> {
    (0..p.experts)
        .map(|_| match rng.random_range(0..8) {
            0 => 0,
            1 | 2 => p.max_m,
            3 => 1.min(p.max_m),
            _ => rng.random_range(0..=p.max_m),
        } as i32)
        .collect()
}

/// Each token's (expert or −1, weight) per slot.
pub fn routes(
    p: &MoeRoutedProblem,
    dist: Distribution,
    rng: &mut ChaCha8Rng,
) -> (Vec<i32>, Vec<f32>) {
    let mut ids = Vec::with_capacity(p.tokens * p.top_k);
    let mut weights = Vec::with_capacity(p.tokens * p.top_k);
    let mut experts: Vec<usize> = (0..p.experts).collect();
    let scaling = if rng.random::<bool>() { 1.0f32 } else { 2.5 };
    for _ in 0..p.tokens {
        let (picked, _) = experts.partial_shuffle(rng, p.top_k);
        for &e in picked.iter() {
            ids.push(if rng.random_range(0..8) == 0 {
                -1
            } else {
                e as i32
            });
        }
        if dist == Distribution::Exact {
            weights
                .extend((0..p.top_k).map(|_| crosscheck_spec::pow2_f32(-rng.random_range(1..=3))));
        } else {
            let gates: Vec<f32> = (0..p.top_k)
                .map(|_| rng.random_range(0.05f32..1.0))
                .collect();
            let total: f32 = gates.iter().sum();
            weights.extend(gates.iter().map(|g| g / total * scaling));
        }
    }
    (ids, weights)
}

/// A raw-bytes tensor.
fn bytes_tensor(bytes: Vec<u8>) -> HostTensor {
    HostTensor {
        shape: vec![bytes.len()],
        layout: Layout::RowMajor,
        precision: Precision::U8,
        bytes,
    }
}

/// Exact-tier integers of one row of length k with Σ|x| ≤ `budget`: amplitude from the budget,
/// entries zeroed at random positions until the row fits.
fn exact_row(k: usize, budget: i64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let budget = budget.max(1);
    let amplitude = (budget / k.max(1) as i64).clamp(1, EXACT_MAX as i64) as i32;
    let mut row: Vec<i32> = (0..k)
        .map(|_| rng.random_range(-amplitude..=amplitude))
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(rng);
    let mut total: i64 = row.iter().map(|v| v.abs() as i64).sum();
    for &i in &order {
        if total <= budget {
            break;
        }
        total -= row[i].abs() as i64;
        row[i] = 0;
    }
    row.into_iter().map(|v| v as f32).collect()
}

/// A bound-tier value.
fn draw(dist: Distribution, rng: &mut ChaCha8Rng) -> f32 {
    match dist {
        Distribution::Uniform => uniform(rng),
        _ => normal(rng),
    }
}

/// `count` bound-tier values (outliers: one per run of 32 a thousand times larger; specials
/// sprinkled when `specials` allows them, non-finite ones only where `non_finite`).
fn values(count: usize, dist: Distribution, non_finite: bool, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..count).map(|_| draw(dist, rng)).collect();
    match dist {
        Distribution::Outliers => {
            for run in v.chunks_mut(32) {
                let at = rng.random_range(0..run.len());
                run[at] *= 1000.0;
            }
        }
        Distribution::Specials => sprinkle_specials(&mut v, Precision::F32, non_finite, rng),
        _ => {}
    }
    v
}

/// Garbage for a row no expert owns: large values and, in one row of four, a NaN.
fn garbage_row(k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut row: Vec<f32> = (0..k).map(|_| normal(rng) * 1.0e4).collect();
    if rng.random_range(0..4) == 0 {
        let at = rng.random_range(0..k);
        row[at] = f32::NAN;
    }
    row
}

/// Activation rows (row-major, k wide) for the row owners `rows`: exact integers, bound-tier
/// values or garbage for rows no expert owns.
fn activation_rows(
    rows: &[Option<usize>],
    k: usize,
    dist: Distribution,
    budget: i64,
    non_finite: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * k);
    for r in rows {
        match (r, dist) {
            (None, _) => out.extend(garbage_row(k, rng)),
            (Some(_), Distribution::Exact) => out.extend(exact_row(k, budget, rng)),
            (Some(_), _) => out.extend(values(k, dist, non_finite, rng)),
        }
    }
    out
}

/// Weights [experts, k, n] in storage order: integers in [−8, 8] for the exact tier.
fn float_weights(count: usize, dist: Distribution, rng: &mut ChaCha8Rng) -> Vec<f32> {
    if dist == Distribution::Exact {
        (0..count)
            .map(|_| rng.random_range(-EXACT_MAX..=EXACT_MAX) as f32)
            .collect()
    } else {
        values(count, dist, true, rng)
    }
}

/// FP8 exact-tier values of a rows × cols matrix whose scale tiles are `tile_rows` × 128: ±448
/// at the first element of each tile (so every scale is exactly 448/448 = 1), integers in
/// [−4, 4] elsewhere. Every code is then an integer, every product of codes an integer of at
/// most 448², and a row's sums stay below 2^24 for k up to 56 tiles of 128.
fn fp8_exact(rows: usize, cols: usize, tile_rows: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            if r % tile_rows == 0 && c % FP8_TILE == 0 {
                if rng.random::<bool>() { 448.0 } else { -448.0 }
            } else {
                rng.random_range(-4i32..=4) as f32
            }
        })
        .collect()
}

/// Rows of FP8 activations (each a row of the 1×128-tile matrix) for the row owners `rows`.
fn fp8_activations(
    rows: &[Option<usize>],
    k: usize,
    dist: Distribution,
    rng: &mut ChaCha8Rng,
) -> HostTensor {
    let mut v = Vec::with_capacity(rows.len() * k);
    for r in rows {
        match (r, dist) {
            (None, _) => v.extend(garbage_row(k, rng)),
            (Some(_), Distribution::Exact) => v.extend(fp8_exact(1, k, 1, rng)),
            (Some(_), _) => v.extend(values(k, dist, false, rng)),
        }
    }
    bytes_tensor(quant::encode(QuantFormat::Fp8E4M3Tile, rows.len(), k, &v))
}

/// FP8 weights: each expert's n×k matrix in 128×128 blocks, one after another.
fn fp8_weights(
    experts: usize,
    n: usize,
    k: usize,
    dist: Distribution,
    rng: &mut ChaCha8Rng,
) -> HostTensor {
    let mut bytes = Vec::with_capacity(crosscheck_spec::fp8_weights_len(experts, n, k));
    for _ in 0..experts {
        let w = if dist == Distribution::Exact {
            fp8_exact(n, k, FP8_TILE, rng)
        } else {
            values(n * k, dist, false, rng)
        };
        bytes.extend(quant::encode(QuantFormat::Fp8E4M3Block, n, k, &w));
    }
    bytes_tensor(bytes)
}

/// The budget of Σ|a| per exact-tier row: every Σ|a||b| stays within the exact limit.
fn row_budget(precision: Precision) -> i64 {
    exact_limit(precision) as i64 / EXACT_MAX as i64
}

/// A, B and the rows' owners, for the grouped layouts.
#[allow(clippy::too_many_arguments)]
fn grouped_operands(
    rows: &[Option<usize>],
    experts: usize,
    n: usize,
    k: usize,
    b_layout: Layout,
    fp8: bool,
    a_shape: Vec<usize>,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> (HostTensor, HostTensor) {
    let (mut rng_a, mut rng_b) = (stream(seed, 0), stream(seed, 1));
    if fp8 {
        return (
            fp8_activations(rows, k, dist, &mut rng_a),
            fp8_weights(experts, n, k, dist, &mut rng_b),
        );
    }
    let a = activation_rows(rows, k, dist, row_budget(precision), true, &mut rng_a);
    let b = float_weights(experts * k * n, dist, &mut rng_b);
    (
        tensor(a_shape, Layout::RowMajor, precision, &a),
        tensor(vec![experts, k, n], b_layout, precision, &b),
    )
}

/// A, B and the grouping input (`m_indices` or offsets) of a contiguous problem.
pub fn contiguous_inputs(
    p: &MoeContiguousProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (rows, grouping) = contiguous_layout(p, &mut stream(seed, 2));
    let (a, b) = grouped_operands(
        &rows,
        p.experts,
        p.n,
        p.k,
        p.b_layout,
        p.fp8,
        vec![p.m, p.k],
        precision,
        dist,
        seed,
    );
    vec![a, b, bytes_tensor(i32_le_bytes(&grouping))]
}

/// A, B and `masked_m` of a masked problem.
pub fn masked_inputs(
    p: &MoeMaskedProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let counts = masked_counts(p, &mut stream(seed, 2));
    let rows: Vec<Option<usize>> = (0..p.experts)
        .flat_map(|e| (0..p.max_m).map(move |r| (e, r)))
        .map(|(e, r)| (r < counts[e] as usize).then_some(e))
        .collect();
    let (a, b) = grouped_operands(
        &rows,
        p.experts,
        p.n,
        p.k,
        p.b_layout,
        p.fp8,
        vec![p.experts, p.max_m, p.k],
        precision,
        dist,
        seed,
    );
    vec![a, b, bytes_tensor(i32_le_bytes(&counts))]
}

/// FP8 exact-tier weights of one expert (n×k, 128×128 blocks): as [`fp8_exact`], but the ±448
/// that makes a block's scale 1 sits at the block's second column where it has one, so that it
/// never meets the ±448 at the first column of the activations' 1×128 tiles. A routed sum of
/// up to 8 slots of k = 7168 then stays far below the exact limit (each 128-block of a dot
/// product at most 2·448·4 + 126·16).
fn fp8_exact_weights(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n * k)
        .map(|i| {
            let (r, c) = (i / k, i % k);
            let block_start = c - c % FP8_TILE;
            let marker = if k - block_start > 1 { 1 } else { 0 };
            if r % FP8_TILE == 0 && c - block_start == marker {
                if rng.random::<bool>() { 448.0 } else { -448.0 }
            } else {
                rng.random_range(-4i32..=4) as f32
            }
        })
        .collect()
}

/// X and W of an FP8 routed problem: X the tokens×k matrix in 1×128 tiles, W every expert's
/// n×k matrix in 128×128 blocks.
fn routed_fp8_operands(
    p: &MoeRoutedProblem,
    dist: Distribution,
    seed: u64,
) -> (HostTensor, HostTensor) {
    let mut rng_x = stream(seed, 0);
    let mut x = Vec::with_capacity(p.tokens * p.k);
    for _ in 0..p.tokens {
        if dist == Distribution::Exact {
            x.extend(fp8_exact(1, p.k, 1, &mut rng_x));
        } else {
            x.extend(values(p.k, dist, false, &mut rng_x));
        }
    }
    let x = bytes_tensor(quant::encode(QuantFormat::Fp8E4M3Tile, p.tokens, p.k, &x));
    let w = if dist == Distribution::Exact {
        let mut rng = stream(seed, 1);
        let mut bytes = Vec::with_capacity(crosscheck_spec::fp8_weights_len(p.experts, p.n, p.k));
        for _ in 0..p.experts {
            let w = fp8_exact_weights(p.n, p.k, &mut rng);
            bytes.extend(quant::encode(QuantFormat::Fp8E4M3Block, p.n, p.k, &w));
        }
        bytes_tensor(bytes)
    } else {
        fp8_weights(p.experts, p.n, p.k, dist, &mut stream(seed, 1))
    };
    (x, w)
}

/// X, W, `topk_ids` and `topk_weights` of a routed problem. In the exact tier the weights are
/// 1/2, 1/4 or 1/8, and each token's Σ|x| is cut so that Σ_j w_j·Σ|x||w_j| stays within an
/// eighth of the exact limit: every partial sum is a multiple of 1/8 below it, exact in f32 and
/// in the output precision. FP8 operands in the exact tier have unit scales and integer codes
/// ([`fp8_exact_weights`]).
pub fn routed_inputs(
    p: &MoeRoutedProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (ids, weights) = routes(p, dist, &mut stream(seed, 2));
    let weights_tensor = tensor(
        vec![p.tokens, p.top_k],
        Layout::RowMajor,
        Precision::F32,
        &weights,
    );
    if p.fp8 {
        let (x, w) = routed_fp8_operands(p, dist, seed);
        return vec![x, w, bytes_tensor(i32_le_bytes(&ids)), weights_tensor];
    }
    let mut rng_x = stream(seed, 0);
    let mut x = Vec::with_capacity(p.tokens * p.k);
    for t in 0..p.tokens {
        if dist == Distribution::Exact {
            let total: f64 = weights[t * p.top_k..(t + 1) * p.top_k]
                .iter()
                .map(|&w| w as f64)
                .sum();
            let budget = exact_limit(precision) / (64.0 * total.max(1.0));
            x.extend(exact_row(p.k, budget as i64, &mut rng_x));
        } else {
            x.extend(values(p.k, dist, true, &mut rng_x));
        }
    }
    let w = float_weights(p.experts * p.k * p.n, dist, &mut stream(seed, 1));
    vec![
        tensor(vec![p.tokens, p.k], Layout::RowMajor, precision, &x),
        tensor(vec![p.experts, p.k, p.n], p.b_layout, precision, &w),
        bytes_tensor(i32_le_bytes(&ids)),
        weights_tensor,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_reference::moe::{check_alignment, contiguous_rows};
    use crosscheck_spec::Padding;

    #[test]
    fn contiguous_layouts_keep_their_alignment_and_both_groupings_agree() {
        for seed in 0..300u64 {
            for grouping in [Grouping::Indices, Grouping::Offsets] {
                let alignment = [1, 2, 4, 16, 128][seed as usize % 5];
                let p = MoeContiguousProblem {
                    experts: 1 + seed as usize % 9,
                    m: alignment * (1 + seed as usize % 7),
                    n: 1,
                    k: 1,
                    alignment,
                    grouping,
                    padding: Padding::Zero,
                    b_layout: Layout::ColMajor,
                    fp8: false,
                };
                let (rows, values) = contiguous_layout(&p, &mut stream(seed, 2));
                check_alignment(&rows, alignment).unwrap();
                let read = contiguous_rows(&p, &i32_le_bytes(&values)).unwrap();
                assert_eq!(read, rows, "{p:?} seed {seed}");
            }
        }
    }

    #[test]
    fn fp8_exact_values_have_unit_scales() {
        let v = fp8_exact(3, 300, 1, &mut stream(1, 0));
        let bytes = quant::encode(QuantFormat::Fp8E4M3Tile, 3, 300, &v);
        for s in bytes[..4 * 9].chunks(4) {
            assert_eq!(f32::from_le_bytes(s.try_into().unwrap()), 1.0);
        }
        let w = fp8_exact(130, 129, FP8_TILE, &mut stream(2, 0));
        let bytes = quant::encode(QuantFormat::Fp8E4M3Block, 130, 129, &w);
        for s in bytes[..4 * 4].chunks(4) {
            assert_eq!(f32::from_le_bytes(s.try_into().unwrap()), 1.0);
        }
    }

    #[test]
    fn fp8_exact_routed_weights_have_unit_scales_away_from_the_activation_markers() {
        for k in [1, 2, 129, 300] {
            let w = fp8_exact_weights(130, k, &mut stream(4, 0));
            let bytes = quant::encode(QuantFormat::Fp8E4M3Block, 130, k, &w);
            let scales = 2 * k.div_ceil(FP8_TILE);
            for s in bytes[..4 * scales].chunks(4) {
                assert_eq!(f32::from_le_bytes(s.try_into().unwrap()), 1.0, "k {k}");
            }
            for c in (0..k).step_by(FP8_TILE).filter(|&c| k - c > 1) {
                assert!(w.iter().skip(c).step_by(k).all(|v| v.abs() <= 4.0), "k {k}");
            }
        }
    }

    #[test]
    fn routes_are_distinct_experts_with_positive_weights() {
        let p = MoeRoutedProblem {
            tokens: 50,
            experts: 9,
            top_k: 4,
            n: 1,
            k: 1,
            b_layout: Layout::RowMajor,
            fp8: false,
        };
        let (ids, w) = routes(&p, Distribution::Normal, &mut stream(3, 2));
        for token in ids.chunks(4) {
            let mut seen: Vec<i32> = token.iter().copied().filter(|&e| e >= 0).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), token.iter().filter(|&&e| e >= 0).count());
            assert!(token.iter().all(|&e| (-1..9).contains(&e)));
        }
        assert!(ids.contains(&-1));
        assert!(w.iter().all(|&x| x > 0.0 && x <= 2.5));
    }
}
