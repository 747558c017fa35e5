//! Sparse indexer inputs: Q, K and the head weights for each distribution, FP8 codes and
//! per-key scales as DeepSeek's act_quant makes them, and per-query key ranges that mix causal
//! prefixes, arbitrary windows and empty ranges.

use crosscheck_reference::quant::f32_to_e4m3_bits;
use crosscheck_spec::{HostTensor, Layout, Precision, SparseIndexerProblem};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, stream, tensor, uniform};

/// Largest finite E4M3 value: a key's scale is its amax / 448.
const E4M3_MAX: f32 = 448.0;

/// The inputs of `p`, in [`SparseIndexerProblem`]'s order.
pub fn inputs(
    p: &SparseIndexerProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (mut rq, mut rk, mut rw, mut rr) = (
        stream(seed, 0),
        stream(seed, 1),
        stream(seed, 2),
        stream(seed, 3),
    );
    let f: fn(&mut ChaCha8Rng) -> f32 = match dist {
        Distribution::Uniform => uniform,
        _ => normal,
    };
    let draw = |n: usize, rng: &mut ChaCha8Rng| -> Vec<f32> { (0..n).map(|_| f(rng)).collect() };
    let q = draw(p.len_q * p.heads * p.d, &mut rq);
    let k = draw(p.len_kv * p.d, &mut rk);
    let w: Vec<f32> = (0..p.len_q * p.heads).map(|_| normal(&mut rw)).collect();
    let mut out = if p.fp8 {
        // DeepGEMM's test casts q straight to E4M3 and scales each key by amax / 448.
        let codes: Vec<u8> = q.iter().map(|&x| f32_to_e4m3_bits(x)).collect();
        let mut k_codes = Vec::with_capacity(k.len());
        let mut scales = Vec::with_capacity(p.len_kv);
        for row in k.chunks(p.d) {
            let amax = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let scale = if amax > 0.0 { amax / E4M3_MAX } else { 1.0 };
            k_codes.extend(row.iter().map(|&x| f32_to_e4m3_bits(x / scale)));
            scales.push(scale);
        }
        vec![
            bytes(codes),
            bytes(k_codes),
            tensor(vec![p.len_kv], Layout::RowMajor, Precision::F32, &scales),
        ]
    } else {
        vec![
            tensor(p.q_shape(), Layout::RowMajor, precision, &q),
            tensor(p.k_shape(), Layout::RowMajor, precision, &k),
        ]
    };
    out.push(tensor(
        p.weights_shape(),
        Layout::RowMajor,
        Precision::F32,
        &w,
    ));
    let ranges: Vec<u8> = ranges(p, &mut rr)
        .iter()
        .flat_map(|&(ks, ke)| [ks as i32, ke as i32])
        .flat_map(i32::to_le_bytes)
        .collect();
    out.push(bytes(ranges));
    out
}

fn bytes(bytes: Vec<u8>) -> HostTensor {
    HostTensor {
        shape: vec![bytes.len()],
        layout: Layout::RowMajor,
        precision: Precision::U8,
        bytes,
    }
}

/// (ks, ke) per query. Query i sits at position len_kv − len_q + i (the queries are the last
/// tokens, as in a prefill over a cache). With two queries or more, one chosen at random has an
/// empty range; of the rest, half see the causal prefix [0, position + 1) (model.py's mask), the
/// others an arbitrary window [ks, ke) (DeepGEMM's ks/ke under context parallelism).
pub fn ranges(p: &SparseIndexerProblem, rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    let empty = (p.len_q >= 2).then(|| rng.random_range(0..p.len_q));
    (0..p.len_q)
        .map(|i| {
            if Some(i) == empty {
                let at = rng.random_range(0..=p.len_kv);
                return (at, at);
            }
            if rng.random_range(0..2) == 0 {
                let position = (p.len_kv + i).saturating_sub(p.len_q);
                (0, (position + 1).min(p.len_kv))
            } else {
                let (a, b) = (
                    rng.random_range(0..=p.len_kv),
                    rng.random_range(0..=p.len_kv),
                );
                (a.min(b), a.max(b))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_causal_prefixes_windows_and_an_empty_one() {
        let p = SparseIndexerProblem {
            len_q: 40,
            len_kv: 100,
            heads: 2,
            d: 4,
            fp8: true,
        };
        let t = inputs(&p, Precision::F32, Distribution::Normal, 3);
        let r = p.ranges(&t[4].bytes).unwrap();
        assert!(r.iter().any(|&(ks, ke)| ks == ke));
        assert!(r.iter().any(|&(ks, ke)| ks == 0 && ke < p.len_kv && ke > 0));
        assert!(r.iter().any(|&(ks, _)| ks > 0));
        let scales = p.key_scales(&t[2]).unwrap();
        assert_eq!(scales.len(), p.len_kv);
        // Each key's largest code is ±448 (its amax maps to the top of E4M3).
        assert!(
            t[1].bytes
                .chunks(p.d)
                .all(|row| row.iter().any(|&b| b & 0x7f == 0x7e))
        );
    }
}
