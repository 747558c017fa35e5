//! Split-KV CPU attention, as FlashDecoding schedules a decode: the launch's key range
//! [0, len_kv) is cut into [`SPLITS`] splits of equal length (rounded up to whole tiles of
//! [`KEY_TILE`] keys), each split runs an online softmax over the keys the row sees in it into
//! a partial (running maximum, sum and unnormalised output), and the partials are merged in
//! order with a log-sum-exp combine. The split boundaries follow len_kv, not the row, so a row
//! computed in a launch with a different key count is cut differently: the kernel declares
//! neither chunk nor split invariance. All f32.

use crosscheck_spec::{AttentionProblem, HostTensor};

use super::attention_rows::{Row, for_each_row, score};
use super::splitkv_combine::{Partial, combine};

/// Splits of the key range (fewer when len_kv has fewer tiles).
pub const SPLITS: usize = 4;

/// Keys per online-softmax tile inside a split: the schedule this kernel declares. Splits are
/// whole tiles, so each key meets at most one rescaling per later tile of its split plus the
/// combine's, within the ⌈len_kv / tile⌉ the bound charges (docs/numerics.md).
pub const KEY_TILE: usize = 32;

/// O (row-major, f32) = softmax(scale · Q·Kᵀ + mask) · V.
pub fn attention(p: &AttentionProblem, q: &HostTensor, k: &HostTensor, v: &HostTensor) -> Vec<f32> {
    for_each_row(p, q, k, v, row)
}

/// Keys per split for a launch of `len_kv` keys: ⌈len_kv / SPLITS⌉ rounded up to whole tiles
/// (at least one tile).
fn split_len(len_kv: usize) -> usize {
    len_kv
        .div_ceil(SPLITS)
        .next_multiple_of(KEY_TILE)
        .max(KEY_TILE)
}

fn row(r: &Row, out: &mut [f32]) {
    if r.keys.is_empty() {
        return;
    }
    // The launch's key count: the row holds its kv head's whole cache.
    let split = split_len(r.k.len() / r.d_qk.max(1));
    let partials: Vec<Partial> = (0..r.keys.end)
        .step_by(split)
        .filter_map(|start| {
            let keys = start.max(r.keys.start)..(start + split).min(r.keys.end);
            (!keys.is_empty()).then(|| partial(r, keys))
        })
        .collect();
    combine(&partials, out);
}

/// The online softmax over `keys` (tiles of [`KEY_TILE`] from the split's first key).
fn partial(r: &Row, keys: std::ops::Range<usize>) -> Partial {
    let mut max = f32::NEG_INFINITY;
    let mut sum = 0.0f32;
    let mut out = vec![0.0f32; r.d_v];
    let mut scores = [0.0f32; KEY_TILE];
    for tile_start in keys.clone().step_by(KEY_TILE) {
        let tile = tile_start..(tile_start + KEY_TILE).min(keys.end);
        let scores = &mut scores[..tile.len()];
        for (s, j) in scores.iter_mut().zip(tile.clone()) {
            *s = score(r, j);
        }
        let new_max = scores.iter().copied().fold(max, f32::max);
        // While every score is −∞, subtract 0: those keys weigh exp(−∞) = 0, not NaN.
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
    Partial { max, sum, out }
}
