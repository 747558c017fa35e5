//! Split-KV CPU MLA decode (dense or FP8 cache): each sequence's live tokens are decoded once
//! (as in the flash kernel), then every row cuts the tokens it sees into splits of
//! [`SPLIT_TOKENS`] counted from its first token; the splits run in parallel (a long decode with
//! few heads still fills the cores), each an online softmax over tiles of [`KEY_TILE`] tokens
//! into a partial (running maximum, sum and unnormalised P·V), and the partials are merged in
//! split order with a log-sum-exp combine; LSE = max + ln(sum). A row's splits depend on its own
//! visible tokens only, never on the launch (the table's room, the other sequences), so the
//! kernel is batch-, chunk- and split-invariant, and declares it. All f32.

use crosscheck_spec::{HostTensor, KernelError, MlaProblem};
use rayon::prelude::*;

use super::mla_cache::{Cache, for_each_row, scale, visible};
use super::splitkv_combine::{Partial, combine};

/// Tokens per split, counted from the row's first token (the WGSL kernel's split size).
pub const SPLIT_TOKENS: usize = 64;

/// Tokens per online-softmax tile inside a split: the schedule this kernel declares. A split
/// is whole tiles, so a token meets at most the later tiles' rescalings of its split plus the
/// combine's, within the ⌈n / tile⌉ the bound charges (docs/numerics.md, "Split-KV decode").
pub const KEY_TILE: usize = 32;

/// O and LSE (f32, [batch, heads_q, seq_q, d_latent + 1]).
pub fn mla(p: &MlaProblem, inputs: &[&HostTensor]) -> Result<Vec<f32>, KernelError> {
    let cache = Cache::new(p, inputs[1], inputs[2], inputs[3])?;
    let q = inputs[0].to_f32();
    let d = p.d_qk();
    let sequences: Vec<Vec<f32>> = (0..p.batch)
        .into_par_iter()
        .map(|b| {
            let mut kv = vec![0.0f32; cache.lens[b] * d];
            for (t, row) in kv.chunks_exact_mut(d).enumerate() {
                cache.token(b, t, row);
            }
            kv
        })
        .collect();
    Ok(for_each_row(p, &cache, |b, h, i, out| {
        let q_row = &q[((b * p.heads_q + h) * p.seq_q + i) * d..][..d];
        let n = visible(p, cache.lens[b], i);
        let partials: Vec<Partial> = (0..n.div_ceil(SPLIT_TOKENS))
            .into_par_iter()
            .map(|s| {
                let tokens = s * SPLIT_TOKENS..((s + 1) * SPLIT_TOKENS).min(n);
                partial(p, q_row, &sequences[b], tokens)
            })
            .collect();
        let (max, sum) = combine(&partials, &mut out[..p.d_latent]);
        // LSE = m + ln Σ exp(m_s − m)·sum_s.
        out[p.d_latent] = max + sum.ln();
    }))
}

/// The online softmax of one row over `tokens` of its sequence's decoded cache `kv` (tiles of
/// [`KEY_TILE`] from the split's first token).
fn partial(p: &MlaProblem, q_row: &[f32], kv: &[f32], tokens: std::ops::Range<usize>) -> Partial {
    let (d, sigma) = (p.d_qk(), scale(p));
    let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    let mut out = vec![0.0f32; p.d_latent];
    let mut scores = [0.0f32; KEY_TILE];
    for start in tokens.clone().step_by(KEY_TILE) {
        let tile = start..(start + KEY_TILE).min(tokens.end);
        let scores = &mut scores[..tile.len()];
        for (s, t) in scores.iter_mut().zip(tile.clone()) {
            let k = &kv[t * d..][..d];
            *s = q_row.iter().zip(k).fold(0.0f32, |a, (x, y)| a + x * y) * sigma;
        }
        let new_max = scores.iter().copied().fold(max, f32::max);
        // While every score is −∞, subtract 0: those tokens weigh exp(−∞) = 0, not NaN.
        let shift = if new_max == f32::NEG_INFINITY {
            0.0
        } else {
            new_max
        };
        let rescale = (max - shift).exp();
        sum *= rescale;
        out.iter_mut().for_each(|o| *o *= rescale);
        for (s, t) in scores.iter().zip(tile) {
            let w = (s - shift).exp();
            sum += w;
            for (o, v) in out.iter_mut().zip(&kv[t * d..][..p.d_latent]) {
                *o += w * v;
            }
        }
        max = new_max;
    }
    Partial { max, sum, out }
}
