//! Attention inputs: Q, K and V for every distribution, including the adversarial ones
//! (large logits, near-uniform and peaked attention, constant V, a NaN in K or V, keys that
//! score −∞).

use crosscheck_reference::attention::scale;
use crosscheck_spec::{AttentionProblem, HostTensor, Layout, Precision};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, sprinkle_specials, stream, tensor, uniform};

/// Standard deviation of the raw scores (scale · q·k) under `LargeLogits`: the largest of a few
/// thousand reach ±1e4.
const LARGE_SCORE_STD: f64 = 3000.0;
/// Score of the dominant key under `Peaked` (the others are near 0).
const PEAKED_SCORE: f64 = 12.0;

/// Q, K and V for `p`.
pub fn inputs(
    p: &AttentionProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (mut rq, mut rk, mut rv, mut rs) = (
        stream(seed, 0),
        stream(seed, 1),
        stream(seed, 2),
        stream(seed, 3),
    );
    let (q_len, k_len, v_len) = (
        count(&p.q_shape()),
        count(&p.k_shape()),
        count(&p.v_shape()),
    );
    let draw = |n: usize, rng: &mut ChaCha8Rng, f: fn(&mut ChaCha8Rng) -> f32| -> Vec<f32> {
        (0..n).map(|_| f(rng)).collect()
    };
    let sigma = scale(p);
    let (mut q, mut k, mut v) = match dist {
        Distribution::Uniform => (
            draw(q_len, &mut rq, uniform),
            draw(k_len, &mut rk, uniform),
            draw(v_len, &mut rv, uniform),
        ),
        Distribution::LargeLogits => {
            // scale · q·k has standard deviation c² · scale · √d for q, k ~ N(0, c²).
            let c = (LARGE_SCORE_STD / (sigma * (p.d_qk as f64).sqrt())).sqrt() as f32;
            let q = draw(q_len, &mut rq, normal)
                .into_iter()
                .map(|x| x * c)
                .collect();
            let k = draw(k_len, &mut rk, normal)
                .into_iter()
                .map(|x| x * c)
                .collect();
            (q, k, draw(v_len, &mut rv, normal))
        }
        Distribution::NearUniform => {
            let q = draw(q_len, &mut rq, normal)
                .into_iter()
                .map(|x| x * 1e-3)
                .collect();
            (
                q,
                draw(k_len, &mut rk, normal),
                draw(v_len, &mut rv, normal),
            )
        }
        Distribution::Peaked => peaked(p, sigma, &mut rq, &mut rk, &mut rv),
        Distribution::ConstV => {
            let row_width = p.d_v;
            let constants = draw(p.batch * p.heads_kv * row_width, &mut rv, normal);
            let v = (0..v_len)
                .map(|i| constants[(i / (p.len_kv * row_width)) * row_width + i % row_width])
                .collect();
            (
                draw(q_len, &mut rq, normal),
                draw(k_len, &mut rk, normal),
                v,
            )
        }
        _ => (
            draw(q_len, &mut rq, normal),
            draw(k_len, &mut rk, normal),
            draw(v_len, &mut rv, normal),
        ),
    };
    if dist == Distribution::Specials {
        sprinkle_specials(&mut q, precision, false, &mut rs);
        sprinkle_specials(&mut k, precision, true, &mut rs);
        sprinkle_specials(&mut v, precision, true, &mut rs);
    }
    match dist {
        Distribution::NanKey => k[rs.random_range(0..k_len)] = f32::NAN,
        Distribution::NanValue => v[rs.random_range(0..v_len)] = f32::NAN,
        Distribution::NegInfKeys => neg_inf_keys(p, &mut q, &mut k, &mut rs),
        _ => {}
    }
    vec![
        tensor(p.q_shape(), Layout::RowMajor, precision, &q),
        tensor(p.k_shape(), Layout::RowMajor, precision, &k),
        tensor(p.v_shape(), Layout::RowMajor, precision, &v),
    ]
}

/// Queries of each kv group cluster around one direction q0, and one key per (batch, kv head)
/// points along q0 strongly enough to score about [`PEAKED_SCORE`]; other keys are small.
fn peaked(
    p: &AttentionProblem,
    sigma: f64,
    rq: &mut ChaCha8Rng,
    rk: &mut ChaCha8Rng,
    rv: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = p.d_qk;
    let centres: Vec<f32> = (0..p.batch * p.heads_kv * d).map(|_| normal(rq)).collect();
    let mut q = Vec::with_capacity(count(&p.q_shape()));
    for b in 0..p.batch {
        for h in 0..p.heads_q {
            let centre = &centres[(b * p.heads_kv + p.kv_head(h)) * d..][..d];
            for _ in 0..p.len_q {
                q.extend(centre.iter().map(|c| c + 0.1 * normal(rq)));
            }
        }
    }
    // q0·(c·q0) ≈ c·d, so c = PEAKED_SCORE / (scale · d) puts the dominant score near PEAKED_SCORE.
    let c = (PEAKED_SCORE / (sigma * d as f64)) as f32;
    let mut k: Vec<f32> = (0..count(&p.k_shape())).map(|_| 0.3 * normal(rk)).collect();
    for (group, centre) in centres.chunks(d).enumerate() {
        let j = rk.random_range(0..p.len_kv);
        let row = &mut k[(group * p.len_kv + j) * d..][..d];
        row.iter_mut().zip(centre).for_each(|(k, c0)| *k = c * c0);
    }
    let v = (0..count(&p.v_shape())).map(|_| normal(rv)).collect();
    (q, k, v)
}

/// Makes a run of leading keys of every (batch, kv head) score −∞: column 0 of their K rows
/// becomes ∓∞ (against the sign of the scale) and column 0 of every query positive, so each
/// such score is ±∞ · q₀ · scale = −∞ whatever the other columns add. The run covers 1 to
/// len_kv − 1 keys (all of them when there is one key), so rows see −∞ keys, tiles of nothing
/// but −∞ keys followed by finite ones, and, with masks, rows that see only −∞ keys (NaN).
fn neg_inf_keys(p: &AttentionProblem, q: &mut [f32], k: &mut [f32], rs: &mut ChaCha8Rng) {
    let infinity = if scale(p) > 0.0 {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    for row in q.chunks_mut(p.d_qk) {
        row[0] = row[0].abs() + 0.5;
    }
    for head in k.chunks_mut(p.len_kv * p.d_qk) {
        let run = if p.len_kv > 1 {
            rs.random_range(1..p.len_kv)
        } else {
            1
        };
        for key in head.chunks_mut(p.d_qk).take(run) {
            key[0] = infinity;
        }
    }
}

fn count(shape: &[usize]) -> usize {
    shape.iter().product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_reference::attention::attention;

    fn problem() -> AttentionProblem {
        AttentionProblem {
            batch: 2,
            heads_q: 4,
            heads_kv: 2,
            len_q: 5,
            len_kv: 40,
            d_qk: 64,
            d_v: 16,
            causal: false,
            window: None,
            scale_bits: None,
        }
    }

    fn rows(p: &AttentionProblem, dist: Distribution) -> Vec<(Vec<f64>, Vec<f64>)> {
        let t = inputs(p, Precision::F32, dist, 3);
        let mut rows = Vec::new();
        attention(p, &t[0], &t[1], &t[2], |r| {
            rows.push((r.scores.to_vec(), r.weights.to_vec()))
        });
        rows
    }

    #[test]
    fn large_logits_reach_thousands() {
        let worst = rows(&problem(), Distribution::LargeLogits)
            .iter()
            .flat_map(|(s, _)| s.iter().map(|x| x.abs()))
            .fold(0.0, f64::max);
        assert!(worst > 3000.0 && worst < 1e5, "{worst}");
    }

    #[test]
    fn peaked_rows_have_a_dominant_key_and_flat_rows_do_not() {
        let peaked: Vec<f64> = rows(&problem(), Distribution::Peaked)
            .iter()
            .map(|(_, w)| w.iter().cloned().fold(0.0, f64::max))
            .collect();
        assert!(peaked.iter().all(|&m| m > 0.9), "{peaked:?}");
        let flat: Vec<f64> = rows(&problem(), Distribution::NearUniform)
            .iter()
            .map(|(_, w)| w.iter().cloned().fold(0.0, f64::max))
            .collect();
        assert!(flat.iter().all(|&m| m < 1.1 / 40.0), "{flat:?}");
    }

    #[test]
    fn neg_inf_keys_score_minus_infinity_and_weigh_nothing() {
        let mut p = problem();
        p.scale_bits = Some((-0.5f32).to_bits());
        let rows = rows(&p, Distribution::NegInfKeys);
        for (scores, weights) in &rows {
            assert_eq!(scores[0], f64::NEG_INFINITY);
            assert!(scores.iter().any(|s| s.is_finite()), "{scores:?}");
            for (s, w) in scores.iter().zip(weights) {
                assert_eq!(s.is_finite(), *w > 0.0, "{s} {w}");
            }
        }
    }

    #[test]
    fn const_v_is_constant_along_keys_and_nan_cases_hold_one_nan() {
        let p = problem();
        let t = inputs(&p, Precision::BF16, Distribution::ConstV, 1);
        let v = t[2].to_f32();
        for (i, x) in v.iter().enumerate() {
            let (head, c) = (i / (p.len_kv * p.d_v), i % p.d_v);
            assert_eq!(*x, v[head * p.len_kv * p.d_v + c]);
        }
        for (dist, which) in [(Distribution::NanKey, 1), (Distribution::NanValue, 2)] {
            let t = inputs(&p, Precision::F16, dist, 9);
            assert_eq!(t[which].to_f32().iter().filter(|x| x.is_nan()).count(), 1);
        }
    }
}
