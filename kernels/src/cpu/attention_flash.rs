//! Streaming CPU attention (flash-style): keys in tiles of [`KEY_TILE`], an online softmax that
//! keeps a running maximum, sum and output, rescaling both by exp(old max − new max) whenever a
//! tile raises the maximum. Never materialises a row of scores. All f32.

use crosscheck_spec::{AttentionProblem, HostTensor};

use super::attention_rows::{Row, for_each_row, score};

/// Keys per tile: the online-softmax schedule this kernel declares.
pub const KEY_TILE: usize = 32;

/// O (row-major, f32) = softmax(scale · Q·Kᵀ + mask) · V.
pub fn attention(p: &AttentionProblem, q: &HostTensor, k: &HostTensor, v: &HostTensor) -> Vec<f32> {
    for_each_row(p, q, k, v, row)
}

fn row(r: &Row, out: &mut [f32]) {
    if r.keys.is_empty() {
        return;
    }
    let mut max = f32::NEG_INFINITY;
    let mut sum = 0.0f32;
    let mut scores = [0.0f32; KEY_TILE];
    for tile_start in r.keys.clone().step_by(KEY_TILE) {
        let tile = tile_start..(tile_start + KEY_TILE).min(r.keys.end);
        let scores = &mut scores[..tile.len()];
        for (s, j) in scores.iter_mut().zip(tile.clone()) {
            *s = score(r, j);
        }
        let new_max = scores.iter().copied().fold(max, f32::max);
        // While every score so far is −∞ (masked keys), subtract 0 instead: those keys weigh
        // exp(−∞) = 0 rather than exp(−∞ + ∞) = NaN. On the first finite tile, exp(−∞) = 0
        // empties the running state.
        let shift = if new_max == f32::NEG_INFINITY {
            0.0
        } else {
            new_max
        };
        let rescale = (max - shift).exp();
        sum *= rescale;
        out.iter_mut().for_each(|o| *o *= rescale);
        for (s, j) in scores.iter().zip(tile) {
            let w = (s - shift).exp();
            sum += w;
            for (o, v) in out.iter_mut().zip(&r.v[j * r.d_v..(j + 1) * r.d_v]) {
                *o += w * v;
            }
        }
        max = new_max;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}
