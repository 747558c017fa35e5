//! Test-only: the oracles as they were before they were blocked and threaded, kept verbatim as
//! references (the tests check that the new ones give the same bits), and a seeded generator.

use crosscheck_spec::{AttentionProblem, HostTensor, MatmulProblem};

use crate::attention::{AttentionRow, scale, sees};
use crate::codec;
use crate::matmul::MatmulReference;

/// The naive triple loop over batch, rows and k, each row of C summed across a row of B.
pub fn matmul(problem: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> MatmulReference {
    let MatmulProblem { batch, m, n, k, .. } = *problem;
    let a_vals = codec::decode(a.precision, &a.bytes);
    let b_vals = codec::decode(b.precision, &b.bytes);
    let mut values = vec![0.0f64; batch * m * n];
    let mut gauge = vec![0.0f64; batch * m * n];
    // Row-major f64 copy of one B matrix (k×n) so the inner loop runs over contiguous columns.
    let mut b_rows = vec![0.0f64; k * n];
    for bi in 0..batch {
        let b_index = if problem.b_broadcast { 0 } else { bi };
        for kk in 0..k {
            for j in 0..n {
                b_rows[kk * n + j] = b_vals[b.offset(b_index, kk, j)] as f64;
            }
        }
        for i in 0..m {
            let out = (bi * m + i) * n;
            let (c_row, g_row) = (&mut values[out..out + n], &mut gauge[out..out + n]);
            for kk in 0..k {
                let a_ik = a_vals[a.offset(bi, i, kk)] as f64;
                let b_row = &b_rows[kk * n..(kk + 1) * n];
                for ((c, g), &b_kj) in c_row.iter_mut().zip(g_row.iter_mut()).zip(b_row) {
                    *c += a_ik * b_kj;
                    *g += (a_ik * b_kj).abs();
                }
            }
        }
    }
    MatmulReference { values, gauge }
}

/// The row-by-row attention oracle, one row after another.
pub fn attention(
    p: &AttentionProblem,
    q: &HostTensor,
    k: &HostTensor,
    v: &HostTensor,
    mut on_row: impl FnMut(&AttentionRow),
) -> Vec<f64> {
    let (qv, kv, vv) = (decode(q), decode(k), decode(v));
    let sigma = scale(p);
    let mut out = vec![0.0f64; p.batch * p.heads_q * p.len_q * p.d_v];
    let (mut keys, mut scores, mut gauge, mut weights, mut values) =
        (vec![], vec![], vec![], vec![], vec![]);
    for b in 0..p.batch {
        for h in 0..p.heads_q {
            let g = p.kv_head(h);
            let k_base = (b * p.heads_kv + g) * p.len_kv;
            for i in 0..p.len_q {
                let q_row = &qv[((b * p.heads_q + h) * p.len_q + i) * p.d_qk..][..p.d_qk];
                keys.clear();
                keys.extend((0..p.len_kv).filter(|&j| sees(p, i, j)));
                scores.clear();
                gauge.clear();
                values.clear();
                for &j in &keys {
                    let k_row = &kv[(k_base + j) * p.d_qk..][..p.d_qk];
                    let (dot, abs) = q_row
                        .iter()
                        .zip(k_row)
                        .fold((0.0, 0.0), |(d, a), (x, y)| (d + x * y, a + (x * y).abs()));
                    scores.push(sigma * dot);
                    gauge.push(sigma.abs() * abs);
                    values.extend_from_slice(&vv[(k_base + j) * p.d_v..][..p.d_v]);
                }
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, nan_max);
                weights.clear();
                weights.extend(scores.iter().map(|s| (s - max).exp()));
                let total: f64 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= total);
                let offset = ((b * p.heads_q + h) * p.len_q + i) * p.d_v;
                let o = &mut out[offset..offset + p.d_v];
                for (jj, w) in weights.iter().enumerate() {
                    for (c, o_c) in o.iter_mut().enumerate() {
                        *o_c += w * values[jj * p.d_v + c];
                    }
                }
                on_row(&AttentionRow {
                    output_offset: offset,
                    keys: &keys,
                    scores: &scores,
                    score_gauge: &gauge,
                    weights: &weights,
                    values: &values,
                    output: o,
                });
            }
        }
    }
    out
}

fn decode(t: &HostTensor) -> Vec<f64> {
    codec::decode(t.precision, &t.bytes)
        .into_iter()
        .map(f64::from)
        .collect()
}

/// max that returns NaN if either argument is NaN (f64::max ignores NaN).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// A small seeded generator for the tests (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// Uniform in [−1, 1], rounded to f32 from 53 random bits, so small values keep full
    /// significands and sums of their products are rounded (not the exact fixed-point sums of a
    /// 24-bit grid).
    pub fn signed(&mut self) -> f32 {
        ((self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0) as f32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }
}

/// Whether two oracle outputs are the same bits, any NaN matching any NaN (NaN payloads are not
/// part of the oracle's contract).
pub fn same_bits(x: &[f64], y: &[f64]) -> bool {
    x.len() == y.len()
        && x.iter()
            .zip(y)
            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
}
