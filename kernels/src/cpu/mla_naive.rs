//! Naive CPU MLA decode: per row, every visible token is read through the block table (and
//! decoded) as its score is computed and again for P·V; scores are materialised, then the row
//! maximum, exponentials, sum, P·V and division; LSE = max + ln(sum). All f32.

use crosscheck_spec::{HostTensor, KernelError, MlaProblem};

use super::mla_cache::{Cache, for_each_row, scale, visible};

/// O and LSE (f32, [batch, heads_q, seq_q, d_latent + 1]).
pub fn mla(p: &MlaProblem, inputs: &[&HostTensor]) -> Result<Vec<f32>, KernelError> {
    let cache = Cache::new(p, inputs[1], inputs[2], inputs[3])?;
    let q = inputs[0].to_f32();
    let (d, sigma) = (p.d_qk(), scale(p));
    Ok(for_each_row(p, &cache, |b, h, i, out| {
        let q_row = &q[((b * p.heads_q + h) * p.seq_q + i) * d..][..d];
        let n = visible(p, cache.lens[b], i);
        let mut token = vec![0.0f32; d];
        let scores: Vec<f32> = (0..n)
            .map(|t| {
                cache.token(b, t, &mut token);
                q_row.iter().zip(&token).fold(0.0f32, |a, (x, y)| a + x * y) * sigma
            })
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0f32;
        for (t, s) in scores.iter().enumerate() {
            let w = (s - max).exp();
            total += w;
            cache.token(b, t, &mut token);
            for (o, v) in out[..p.d_latent].iter_mut().zip(&token) {
                *o += w * v;
            }
        }
        out[..p.d_latent].iter_mut().for_each(|o| *o /= total);
        out[p.d_latent] = max + total.ln();
    }))
}
