//! Naive CPU sparse attention: one (query, head) row at a time, its index list's valid entries
//! gathered into materialised scores, the row maximum, exponentials, their sum, then P·V and a
//! division. −1 slots are skipped; a list with no valid entry leaves the row zero. All f32; an FP8 KV cache is
//! dequantized first (`sparse_kv`).

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, INVALID_INDEX, SparseAttentionProblem};

/// O (row-major [len_q, heads_q, d_v], f32) for the checked index lists `indices`.
pub fn attention(
    p: &SparseAttentionProblem,
    q: &HostTensor,
    kv: &HostTensor,
    indices: &[i32],
) -> Vec<f32> {
    let (q, kv) = (q.to_f32(), super::sparse_kv::values(p, kv));
    let scale = p
        .custom_scale()
        .unwrap_or_else(|| 1.0 / (p.d_qk as f32).sqrt());
    let mut out = vec![0.0f32; p.len_q * p.heads_q * p.d_v];
    out.par_chunks_mut(p.d_v).enumerate().for_each(|(r, o)| {
        let (i, h) = (r / p.heads_q, r % p.heads_q);
        let g = p.kv_head(h);
        let q_row = &q[r * p.d_qk..][..p.d_qk];
        let keys: Vec<&[f32]> = p
            .list(indices, i, g)
            .iter()
            .filter(|&&j| j != INVALID_INDEX)
            .map(|&j| &kv[(j as usize * p.heads_kv + g) * p.d_qk..][..p.d_qk])
            .collect();
        if keys.is_empty() {
            return; // no valid entry: zeros
        }
        let scores: Vec<f32> = keys
            .iter()
            .map(|k| q_row.iter().zip(*k).fold(0.0f32, |acc, (a, b)| acc + a * b) * scale)
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = weights.iter().sum();
        for (w, k) in weights.iter().zip(&keys) {
            for (o, v) in o.iter_mut().zip(&k[..p.d_v]) {
                *o += w * v;
            }
        }
        o.iter_mut().for_each(|o| *o /= total);
    });
    out
}
