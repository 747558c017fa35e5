//! Streaming CPU sparse attention, shaped like FlashMLA's sparse kernel: one task per (query,
//! kv head) takes all the query heads that share that kv head, walks the index list in tiles of
//! [`SLOT_TILE`] slots, and reads each listed KV row once for every head of the group. Each
//! head keeps an online softmax (running maximum, sum and output, rescaled by
//! exp(old max − new max) when a tile raises the maximum). −1 slots are skipped; a list with no
//! valid entry leaves its rows zero. All f32; an FP8 KV cache is
//! dequantized first (`sparse_kv`).

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, INVALID_INDEX, SparseAttentionProblem};

/// Index list slots per tile: the online-softmax schedule this kernel declares.
pub const SLOT_TILE: usize = 32;

/// One head's online softmax state.
struct Running {
    max: f32,
    sum: f32,
}

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
    let group = p.heads_q / p.heads_kv;
    let mut out = vec![0.0f32; p.len_q * p.heads_q * p.d_v];
    // The heads of kv head g are g·group..(g + 1)·group: their output rows are contiguous.
    out.par_chunks_mut(group * p.d_v)
        .enumerate()
        .for_each(|(task, o)| {
            let (i, g) = (task / p.heads_kv, task % p.heads_kv);
            let q_rows = &q[(i * p.heads_q + g * group) * p.d_qk..][..group * p.d_qk];
            let mut state: Vec<Running> = (0..group)
                .map(|_| Running {
                    max: f32::NEG_INFINITY,
                    sum: 0.0,
                })
                .collect();
            let mut scores = vec![0.0f32; group * SLOT_TILE];
            let mut seen = false;
            for tile in p.list(indices, i, g).chunks(SLOT_TILE) {
                let keys: Vec<&[f32]> = tile
                    .iter()
                    .filter(|&&j| j != INVALID_INDEX)
                    .map(|&j| &kv[(j as usize * p.heads_kv + g) * p.d_qk..][..p.d_qk])
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                seen = true;
                for (t, k) in keys.iter().enumerate() {
                    for (h, q_row) in q_rows.chunks(p.d_qk).enumerate() {
                        let dot = q_row.iter().zip(*k).fold(0.0f32, |acc, (a, b)| acc + a * b);
                        scores[h * SLOT_TILE + t] = dot * scale;
                    }
                }
                for (h, (run, o)) in state.iter_mut().zip(o.chunks_mut(p.d_v)).enumerate() {
                    let s = &scores[h * SLOT_TILE..][..keys.len()];
                    let new_max = s.iter().copied().fold(run.max, f32::max);
                    // While every score so far is −∞, subtract 0: those slots weigh
                    // exp(−∞) = 0 instead of exp(−∞ + ∞) = NaN.
                    let shift = if new_max == f32::NEG_INFINITY {
                        0.0
                    } else {
                        new_max
                    };
                    let rescale = (run.max - shift).exp();
                    run.sum *= rescale;
                    o.iter_mut().for_each(|x| *x *= rescale);
                    for (s, k) in s.iter().zip(&keys) {
                        let w = (s - shift).exp();
                        run.sum += w;
                        for (x, v) in o.iter_mut().zip(&k[..p.d_v]) {
                            *x += w * v;
                        }
                    }
                    run.max = new_max;
                }
            }
            // A list without valid entries leaves zeros; otherwise divide, even by a zero sum
            // (scores all −∞ give NaN, as the definition does).
            if seen {
                for (run, o) in state.iter().zip(o.chunks_mut(p.d_v)) {
                    o.iter_mut().for_each(|x| *x /= run.sum);
                }
            }
        });
    out
}
