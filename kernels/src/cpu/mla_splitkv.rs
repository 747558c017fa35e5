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

/// Tokens per split, counted from the row's first token (the WGSL kernel's split size).
pub const SPLIT_TOKENS: usize = 64;

/// Tokens per online-softmax tile inside a split: the schedule this kernel declares. A split
/// is whole tiles, so a token meets at most the later tiles' rescalings of its split plus the
/// combine's, within the ⌈n / tile⌉ the bound charges (docs/numerics.md, "Split-KV decode").
pub const KEY_TILE: usize = 32;

/// One split's partial: running maximum, weight sum and unnormalised output.
struct Partial {
    max: f32,
    sum: f32,
    out: Vec<f32>,
}

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
        combine(&partials, out, p.d_latent);
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

/// The log-sum-exp merge in split order into `row` (O, then the LSE): m = max m_s,
/// O = Σ exp(m_s − m)·out_s / Σ exp(m_s − m)·sum_s, LSE = m + ln Σ exp(m_s − m)·sum_s. A split
/// of −∞ scores carries nothing ([`carries_something`]).
fn combine(partials: &[Partial], row: &mut [f32], d_latent: usize) {
    let max = partials
        .iter()
        .map(|p| p.max)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    let out = &mut row[..d_latent];
    for p in partials.iter().filter(|p| carries_something(p)) {
        let f = (p.max - max).exp();
        sum += p.sum * f;
        for (o, v) in out.iter_mut().zip(&p.out) {
            *o += v * f;
        }
    }
    out.iter_mut().for_each(|o| *o /= sum);
    row[d_latent] = max + sum.ln();
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

    /// A split whose one score was NaN (its maximum stays −∞, its sum is NaN) makes O and the
    /// LSE NaN; a split of −∞ scores changes neither.
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
        let mut row = [0.0f32; 2];
        combine(&[finite(), nan], &mut row, 1);
        assert!(row[0].is_nan() && row[1].is_nan());
        let mut row = [0.0f32; 2];
        combine(&[finite(), empty], &mut row, 1);
        assert_eq!(row, [1.5, 0.5 + 2.0f32.ln()]);
    }
}
