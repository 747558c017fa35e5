//! Optimised CPU MLA decode: each sequence's live tokens are read through the block table and
//! decoded once into a contiguous buffer shared by all query heads (one latent head serves them
//! all), then rows run in parallel with an online softmax over tiles of [`KEY_TILE`] tokens
//! (running maximum, sum and output, rescaled by exp(old max − new max)); LSE = max + ln(sum).
//! All f32.

use crosscheck_spec::{HostTensor, KernelError, MlaProblem};
use rayon::prelude::*;

use super::mla_cache::{Cache, for_each_row, scale, visible};

/// Tokens per tile: the online-softmax schedule this kernel declares.
pub const KEY_TILE: usize = 32;

/// O and LSE (f32, [batch, heads_q, seq_q, d_latent + 1]).
pub fn mla(p: &MlaProblem, inputs: &[&HostTensor]) -> Result<Vec<f32>, KernelError> {
    let cache = Cache::new(p, inputs[1], inputs[2], inputs[3])?;
    let q = inputs[0].to_f32();
    let (d, sigma) = (p.d_qk(), scale(p));
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
        let kv = &sequences[b];
        let n = visible(p, cache.lens[b], i);
        let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
        let mut scores = [0.0f32; KEY_TILE];
        for start in (0..n).step_by(KEY_TILE) {
            let tile = start..(start + KEY_TILE).min(n);
            let scores = &mut scores[..tile.len()];
            for (s, t) in scores.iter_mut().zip(tile.clone()) {
                let k = &kv[t * d..][..d];
                *s = q_row.iter().zip(k).fold(0.0f32, |a, (x, y)| a + x * y) * sigma;
            }
            let new_max = scores.iter().copied().fold(max, f32::max);
            let rescale = (max - new_max).exp();
            sum *= rescale;
            out[..p.d_latent].iter_mut().for_each(|o| *o *= rescale);
            for (s, t) in scores.iter().zip(tile) {
                let w = (s - new_max).exp();
                sum += w;
                let v = &kv[t * d..][..p.d_latent];
                for (o, v) in out[..p.d_latent].iter_mut().zip(v) {
                    *o += w * v;
                }
            }
            max = new_max;
        }
        out[..p.d_latent].iter_mut().for_each(|o| *o /= sum);
        out[p.d_latent] = max + sum.ln();
    }))
}
