//! Matmul inputs: the exact-tier integers and the bound-tier distributions.

use crosscheck_spec::{HostTensor, MatmulProblem, Precision};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, sprinkle_specials, stream, tensor, uniform};

/// Largest magnitude of an exact-tier integer.
const EXACT_MAX: i32 = 8;

/// The largest value below which every integer is exact both in the f32 accumulator and in the
/// output's storage precision: 2^min(24, digits).
pub fn exact_limit(precision: Precision) -> f64 {
    crosscheck_spec::pow2(precision.digits().min(24))
}

/// A and B for `p`.
pub fn inputs(
    p: &MatmulProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let mut rng_a = stream(seed, 0);
    let mut rng_b = stream(seed, 1);
    let (a_vals, b_vals) = match dist {
        Distribution::Exact => exact_values(p, precision, &mut rng_a, &mut rng_b),
        Distribution::Ties if p.k >= 2 => tie_values(p, precision, &mut rng_a, &mut rng_b),
        Distribution::Ties => exact_values(p, precision, &mut rng_a, &mut rng_b),
        _ => {
            let range = wide_exponents(precision, p.k);
            let mut a: Vec<f32> = (0..p.a_shape().iter().product())
                .map(|_| draw(dist, range, &mut rng_a))
                .collect();
            let mut b: Vec<f32> = (0..p.b_shape().iter().product())
                .map(|_| draw(dist, range, &mut rng_b))
                .collect();
            if dist == Distribution::Specials {
                sprinkle_specials(&mut a, precision, true, &mut rng_a);
                sprinkle_specials(&mut b, precision, true, &mut rng_b);
            }
            (a, b)
        }
    };
    vec![
        tensor(p.a_shape(), p.a_layout, precision, &a_vals),
        tensor(p.b_shape(), p.b_layout, precision, &b_vals),
    ]
}
/// Exact-tier values: B integers in [-8, 8]; A integers whose absolute row sums are capped so
/// that Σ|a||b| ≤ [`exact_limit`]. Entries to zero are picked at random positions so that late
/// k indices (tile edges) carry values as often as early ones. Values are in storage order.
fn exact_values(
    p: &MatmulProblem,
    precision: Precision,
    rng_a: &mut ChaCha8Rng,
    rng_b: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<f32>) {
    let budget = (exact_limit(precision) as i64 / EXACT_MAX as i64) as i32;
    let amplitude = (budget / p.k.max(1) as i32).clamp(1, EXACT_MAX);
    let b: Vec<f32> = (0..p.b_shape().iter().product::<usize>())
        .map(|_| rng_b.random_range(-EXACT_MAX..=EXACT_MAX) as f32)
        .collect();
    let a_layout = HostTensor {
        shape: p.a_shape(),
        layout: p.a_layout,
        precision,
        bytes: Vec::new(),
    };
    let mut a = vec![0.0f32; p.batch * p.m * p.k];
    let mut order: Vec<usize> = (0..p.k).collect();
    for batch in 0..p.batch {
        for i in 0..p.m {
            let mut row: Vec<i32> = (0..p.k)
                .map(|_| rng_a.random_range(-amplitude..=amplitude))
                .collect();
            order.shuffle(rng_a);
            let mut total: i32 = row.iter().map(|v| v.abs()).sum();
            for &kk in &order {
                if total <= budget {
                    break;
                }
                total -= row[kk].abs();
                row[kk] = 0;
            }
            for (kk, v) in row.into_iter().enumerate() {
                a[a_layout.offset(batch, i, kk)] = v as f32;
            }
        }
    }
    (a, b)
}

/// Tie values: every C[i, j] = σ·2^e·(2^p + 2r + s·c)·2^-p for the output's p significant bits
/// (23 for f32, where the sums stay exact and no tie arises): an odd numerator of p + 1 bits,
/// exactly halfway between two neighbours in the output precision. A[., i, 0] = σ·2^e·(1 +
/// 2r·2^-p), A[., i, 1] = σ·2^e·s·2^-p, B[., 0, j] = 1, B[., 1, j] = c with s, c odd in 1..=7,
/// the other entries 0: every input has at most p bits and every partial sum is exact in the f32
/// accumulator, so the output conversion alone decides each element: round to nearest even
/// goes down or up by the numerator, half away from zero always up, truncation always down.
fn tie_values(
    p: &MatmulProblem,
    precision: Precision,
    rng_a: &mut ChaCha8Rng,
    rng_b: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<f32>) {
    let digits = precision.digits().min(23);
    let ulp = crosscheck_spec::pow2_f32(-digits);
    let odd = |rng: &mut ChaCha8Rng| (2 * rng.random_range(0..4) + 1) as f32;
    let layout_of = |shape: Vec<usize>, layout| HostTensor {
        shape,
        layout,
        precision,
        bytes: Vec::new(),
    };
    let b_layout = layout_of(p.b_shape(), p.b_layout);
    let mut b = vec![0.0f32; p.b_shape().iter().product()];
    for batch in 0..p.b_shape()[0] {
        for j in 0..p.n {
            b[b_layout.offset(batch, 0, j)] = 1.0;
            b[b_layout.offset(batch, 1, j)] = odd(rng_b);
        }
    }
    let a_layout = layout_of(p.a_shape(), p.a_layout);
    let mut a = vec![0.0f32; p.batch * p.m * p.k];
    let r_max = (1u32 << (digits - 1)) - 32;
    for batch in 0..p.batch {
        for i in 0..p.m {
            let sign = if rng_a.random::<bool>() { -1.0 } else { 1.0 };
            let scale = sign * crosscheck_spec::pow2_f32(rng_a.random_range(-3..=3));
            let r = rng_a.random_range(0..r_max) as f32;
            a[a_layout.offset(batch, i, 0)] = scale * (1.0 + 2.0 * r * ulp);
            a[a_layout.offset(batch, i, 1)] = scale * odd(rng_a) * ulp;
        }
    }
    (a, b)
}

/// Exponent range [lo, hi] for the wide distribution: inputs stay normal in storage, products
/// stay normal in f32 (so no flush-to-zero question arises), and k products of the largest
/// inputs stay a factor 4 below the storage precision's overflow threshold.
pub fn wide_exponents(precision: Precision, k: usize) -> (i32, i32) {
    let lo = precision.min_exp().max(-62);
    let log_k = (usize::BITS - k.max(1).leading_zeros()) as i32;
    let hi = (precision.max_exp() - 4 - log_k).div_euclid(2);
    (lo, hi.max(lo))
}

/// One bound-tier value (distributions of other ops fall back to normal).
fn draw(dist: Distribution, (lo, hi): (i32, i32), rng: &mut ChaCha8Rng) -> f32 {
    match dist {
        Distribution::Uniform => uniform(rng),
        Distribution::Wide => {
            let exp = rng.random_range(lo..=hi);
            let significand = rng.random_range(1.0f32..2.0);
            let sign = if rng.random::<bool>() { -1.0 } else { 1.0 };
            sign * significand * crosscheck_spec::pow2_f32(exp)
        }
        _ => normal(rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Case;
    use crate::generate::data::inputs as case_inputs;
    use crosscheck_spec::{Layout, Problem, Variant};

    fn case(p: MatmulProblem, precision: Precision, distribution: Distribution, seed: u64) -> Case {
        Case {
            kernel: "naive".into(),
            backend: "cpu".into(),
            variant: Variant::portable(precision),
            problem: Problem::Matmul(p),
            distribution,
            seed,
        }
    }

    fn problem(m: usize, n: usize, k: usize) -> MatmulProblem {
        MatmulProblem {
            batch: 2,
            m,
            n,
            k,
            a_layout: Layout::ColMajor,
            b_layout: Layout::RowMajor,
            b_broadcast: false,
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let c = case(problem(5, 6, 7), Precision::F16, Distribution::Normal, 9);
        assert_eq!(case_inputs(&c), case_inputs(&c));
        assert_ne!(
            case_inputs(&c),
            case_inputs(&Case {
                seed: 10,
                ..c.clone()
            })
        );
    }

    #[test]
    fn exact_tier_gauges_stay_within_the_exact_limit() {
        for precision in Precision::FLOATS {
            for k in [1, 31, 300] {
                let p = problem(9, 11, k);
                let c = case(p, precision, Distribution::Exact, 3);
                let t = case_inputs(&c);
                let r = crosscheck_reference::matmul(&p, &t[0], &t[1]);
                let worst = r.gauge.iter().cloned().fold(0.0, f64::max);
                assert!(
                    worst <= exact_limit(precision),
                    "{precision} k={k}: gauge {worst}"
                );
                assert!(worst > 0.0);
            }
        }
    }

    #[test]
    fn wide_values_span_many_binades_without_overflow() {
        let p = problem(4, 4, 300);
        for precision in Precision::FLOATS {
            let t = case_inputs(&case(p, precision, Distribution::Wide, 1));
            let vals = t[0].to_f32();
            let (min, max) = vals.iter().fold((f32::MAX, 0.0f32), |(lo, hi), v| {
                (lo.min(v.abs()), hi.max(v.abs()))
            });
            assert!(max / min > 1000.0, "{precision}: {min}..{max}");
            let r = crosscheck_reference::matmul(&p, &t[0], &t[1]);
            assert!(r.gauge.iter().all(|g| *g < precision.max_finite() / 4.0));
        }
    }
}
