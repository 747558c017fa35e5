//! Naive CPU attention: materialise the row's scores, take the row maximum, exponentiate, sum,
//! then accumulate P·V and divide. All f32.

use crosscheck_spec::{AttentionProblem, HostTensor};

use super::attention_rows::{Row, for_each_row, score};

/// O (row-major, f32) = softmax(scale · Q·Kᵀ + mask) · V.
pub fn attention(p: &AttentionProblem, q: &HostTensor, k: &HostTensor, v: &HostTensor) -> Vec<f32> {
    for_each_row(p, q, k, v, row)
}

fn row(r: &Row, out: &mut [f32]) {
    if r.keys.is_empty() {
        return; // sees no key: zeros
    }
    let scores: Vec<f32> = r.keys.clone().map(|j| score(r, j)).collect();
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f32 = weights.iter().sum();
    for (w, j) in weights.iter().zip(r.keys.clone()) {
        for (o, v) in out.iter_mut().zip(&r.v[j * r.d_v..(j + 1) * r.d_v]) {
            *o += w * v;
        }
    }
    out.iter_mut().for_each(|o| *o /= total);
}
