//! Sparse attention inputs: Q and KV for each distribution, and index lists as little-endian
//! i32 bytes holding unused slots (−1) anywhere, −1 tails after the valid entries (as a top-k
//! over fewer candidates than slots leaves them), repeated keys, and lists of nothing but −1.
//! An FP8 problem's KV is drawn the same way, then each row is quantized into FlashMLA's FP8
//! layout by the reference codec the MLA family uses.

use crosscheck_reference::mla::encode_fp8_row;
use crosscheck_spec::{HostTensor, INVALID_INDEX, Layout, Precision, SparseAttentionProblem};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, stream, tensor, uniform};

/// Standard deviation of the raw scores under `LargeLogits`: exp overflows without max
/// subtraction.
const LARGE_SCORE_STD: f64 = 3000.0;

/// Q, KV and the index bytes for `p`.
pub fn inputs(
    p: &SparseAttentionProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (mut rq, mut rk, mut ri, mut rs) = (
        stream(seed, 0),
        stream(seed, 1),
        stream(seed, 2),
        stream(seed, 3),
    );
    let (q_len, kv_len) = (count(&p.q_shape()), p.len_kv * p.heads_kv * p.d_qk);
    let draw = |n: usize, rng: &mut ChaCha8Rng, f: fn(&mut ChaCha8Rng) -> f32| -> Vec<f32> {
        (0..n).map(|_| f(rng)).collect()
    };
    let sigma = crosscheck_reference::sparse::scale(p);
    let (q, mut kv) = match dist {
        Distribution::Uniform => (
            draw(q_len, &mut rq, uniform),
            draw(kv_len, &mut rk, uniform),
        ),
        Distribution::LargeLogits => {
            // scale · q·k has standard deviation c² · scale · √d for q, k ~ N(0, c²).
            let c = (LARGE_SCORE_STD / (sigma * (p.d_qk as f64).sqrt())).sqrt() as f32;
            let scaled = |n, rng: &mut ChaCha8Rng| -> Vec<f32> {
                draw(n, rng, normal).into_iter().map(|x| x * c).collect()
            };
            (scaled(q_len, &mut rq), scaled(kv_len, &mut rk))
        }
        Distribution::NearUniform => (
            draw(q_len, &mut rq, normal)
                .into_iter()
                .map(|x| x * 1e-3)
                .collect(),
            draw(kv_len, &mut rk, normal),
        ),
        _ => (draw(q_len, &mut rq, normal), draw(kv_len, &mut rk, normal)),
    };
    if dist == Distribution::NanKey {
        kv[rs.random_range(0..kv_len)] = f32::NAN;
    }
    let bytes: Vec<u8> = indices(p, &mut ri)
        .iter()
        .flat_map(|j| j.to_le_bytes())
        .collect();
    let kv = if p.fp8 {
        HostTensor {
            shape: p.kv_shape(),
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes: kv
                .chunks(p.d_qk)
                .flat_map(|row| encode_fp8_row(p.d_v, row))
                .collect(),
        }
    } else {
        tensor(p.kv_shape(), Layout::RowMajor, precision, &kv)
    };
    vec![
        tensor(p.q_shape(), Layout::RowMajor, precision, &q),
        kv,
        HostTensor {
            shape: vec![bytes.len()],
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes,
        },
    ]
}

/// Index lists for `p`, [len_q, heads_kv, topk]. With two lists or more, one chosen at random
/// is all −1, and any other is with probability 1/8. The rest are either padded (1 to topk
/// valid entries, then −1) or scattered (each slot −1 with probability 1/4); a valid entry
/// repeats an earlier one of its list with probability 1/8, else it is any key.
pub fn indices(p: &SparseAttentionProblem, rng: &mut ChaCha8Rng) -> Vec<i32> {
    let lists = p.len_q * p.heads_kv;
    let empty = (lists >= 2).then(|| rng.random_range(0..lists));
    let mut out = Vec::with_capacity(lists * p.topk);
    for l in 0..lists {
        if Some(l) == empty || rng.random_range(0..8) == 0 {
            out.extend(std::iter::repeat_n(INVALID_INDEX, p.topk));
            continue;
        }
        let padded = rng.random_range(0..2) == 0;
        let valid = if padded {
            rng.random_range(1..=p.topk)
        } else {
            p.topk
        };
        let start = out.len();
        for t in 0..p.topk {
            let entry = if t >= valid || (!padded && rng.random_range(0..4) == 0) {
                INVALID_INDEX
            } else {
                let earlier: Vec<i32> = out[start..]
                    .iter()
                    .copied()
                    .filter(|&j| j != INVALID_INDEX)
                    .collect();
                if !earlier.is_empty() && rng.random_range(0..8) == 0 {
                    earlier[rng.random_range(0..earlier.len())]
                } else {
                    rng.random_range(0..p.len_kv) as i32
                }
            };
            out.push(entry);
        }
    }
    out
}

fn count(shape: &[usize]) -> usize {
    shape.iter().product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hold_unused_slots_repeats_and_empty_lists() {
        let p = SparseAttentionProblem {
            len_q: 40,
            len_kv: 500,
            heads_q: 2,
            heads_kv: 2,
            d_qk: 4,
            d_v: 4,
            topk: 64,
            scale_bits: None,
            fp8: false,
        };
        let t = inputs(&p, Precision::BF16, Distribution::Normal, 7);
        let all = p.indices(&t[2].bytes).unwrap();
        let lists: Vec<&[i32]> = all.chunks(p.topk).collect();
        assert!(lists.iter().any(|l| l.iter().all(|&j| j == -1)));
        assert!(lists.iter().any(|l| l.last() == Some(&-1) && l[0] >= 0));
        let repeats = |l: &[i32]| {
            let valid: Vec<i32> = l.iter().copied().filter(|&j| j >= 0).collect();
            let mut unique = valid.clone();
            unique.sort();
            unique.dedup();
            unique.len() < valid.len()
        };
        assert!(lists.iter().any(|l| repeats(l)));
        let one = SparseAttentionProblem {
            len_q: 2,
            heads_kv: 1,
            heads_q: 1,
            ..p
        };
        for seed in 0..20 {
            let t = inputs(&one, Precision::F32, Distribution::Uniform, seed);
            let all = one.indices(&t[2].bytes).unwrap();
            assert!(all.chunks(one.topk).any(|l| l.iter().all(|&j| j == -1)));
        }
    }
}
