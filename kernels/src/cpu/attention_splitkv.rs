//! Split-KV CPU attention, as FlashDecoding schedules a decode: the launch's key range
//! [0, len_kv) is cut into [`SPLITS`] splits of equal length (rounded up to whole tiles of
//! [`KEY_TILE`] keys), each split runs an online softmax over the keys the row sees in it into
//! a partial (running maximum, sum and unnormalised output), and the partials are merged in
//! order with a log-sum-exp combine. The split boundaries follow len_kv, not the row, so a row
//! computed in a launch with a different key count is cut differently: the kernel declares
//! neither chunk nor split invariance. All f32.

use crosscheck_spec::{AttentionProblem, HostTensor};

use super::attention_rows::{Row, for_each_row, score};

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

/// One split's partial: running maximum, weight sum and unnormalised output.
struct Partial {
    max: f32,
    sum: f32,
    out: Vec<f32>,
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

/// The log-sum-exp merge: m = max m_s, O = Σ exp(m_s − m)·out_s / Σ exp(m_s − m)·sum_s. A split
/// of −∞ scores carries nothing ([`carries_something`]).
fn combine(partials: &[Partial], out: &mut [f32]) {
    let max = partials
        .iter()
        .map(|p| p.max)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for p in partials.iter().filter(|p| carries_something(p)) {
        let f = (p.max - max).exp();
        sum += p.sum * f;
        for (o, v) in out.iter_mut().zip(&p.out) {
            *o += v * f;
        }
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

/// Whether a split's partial enters the combine: not when all its scores were −∞ (maximum −∞,
/// sum 0). A split whose scores were NaN also ends with maximum −∞ (`f32::max` passes NaN
/// over) but with a NaN sum, and must carry that NaN to the output.
fn carries_something(p: &Partial) -> bool {
    !(p.max == f32::NEG_INFINITY && p.sum == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A split whose one score was NaN (its maximum stays −∞, its sum is NaN) makes the output
    /// NaN; a split of −∞ scores changes nothing.
    #[test]
    fn a_nan_split_reaches_the_output_and_an_empty_one_does_not() {
        let finite = || Partial {
            max: 0.5,
            sum: 2.0,
            out: vec![3.0],
        };
        let nan = Partial {
            max: f32::NEG_INFINITY,
            sum: f32::NAN,
            out: vec![f32::NAN],
        };
        let empty = Partial {
            max: f32::NEG_INFINITY,
            sum: 0.0,
            out: vec![0.0],
        };
        let mut out = [0.0f32];
        combine(&[finite(), nan], &mut out);
        assert!(out[0].is_nan());
        let mut out = [0.0f32];
        combine(&[finite(), empty], &mut out);
        assert_eq!(out[0], 1.5);
    }
}
