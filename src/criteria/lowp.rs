//! The naive algorithm run in the storage precision, as FlashAttention's tests use it for their
//! yardstick: every op computes in f32 and rounds its output to the storage precision (matmul:
//! A·B; attention: the scores, the softmax weights, then P·V).

use crosscheck_reference::{Rounding, round_to};
use crosscheck_spec::{HostTensor, Precision, Problem};

use crate::case::Case;

/// The naive low-precision result of `case` on its stored inputs (row-major, like the output).
/// Only matmul and attention have one.
pub fn naive(case: &Case, inputs: &[HostTensor]) -> Vec<f64> {
    let p = case.variant.precision;
    let store = |x: f32| round_to(x as f64, p, Rounding::NearestEven);
    match &case.problem {
        Problem::Matmul(m) => {
            let (a, b) = (inputs[0].to_f32(), inputs[1].to_f32());
            let mut out = Vec::with_capacity(m.batch * m.m * m.n);
            for batch in 0..m.batch {
                let bb = if m.b_broadcast { 0 } else { batch };
                for i in 0..m.m {
                    for j in 0..m.n {
                        let acc: f32 = (0..m.k)
                            .map(|kk| {
                                a[inputs[0].offset(batch, i, kk)] * b[inputs[1].offset(bb, kk, j)]
                            })
                            .sum();
                        out.push(store(acc));
                    }
                }
            }
            out
        }
        Problem::Attention(a) => attention(a, inputs, p),
        _ => Vec::new(),
    }
}

fn attention(
    a: &crosscheck_spec::AttentionProblem,
    inputs: &[HostTensor],
    p: Precision,
) -> Vec<f64> {
    let store = |x: f32| round_to(x as f64, p, Rounding::NearestEven) as f32;
    let (q, k, v) = (inputs[0].to_f32(), inputs[1].to_f32(), inputs[2].to_f32());
    let scale = a.custom_scale().unwrap_or(1.0 / (a.d_qk as f32).sqrt());
    let mut out = Vec::with_capacity(a.batch * a.heads_q * a.len_q * a.d_v);
    for b in 0..a.batch {
        for h in 0..a.heads_q {
            let kv = (b * a.heads_kv + a.kv_head(h)) * a.len_kv;
            for i in 0..a.len_q {
                let row = ((b * a.heads_q + h) * a.len_q + i) * a.d_qk;
                let keys: Vec<usize> = (0..a.len_kv)
                    .filter(|&j| crosscheck_reference::attention::sees(a, i, j))
                    .collect();
                let scores: Vec<f32> = keys
                    .iter()
                    .map(|&j| {
                        let dot: f32 = (0..a.d_qk)
                            .map(|d| q[row + d] * k[(kv + j) * a.d_qk + d])
                            .sum();
                        store(dot * scale)
                    })
                    .collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = exps.iter().sum();
                let weights: Vec<f32> = exps.iter().map(|e| store(e / total)).collect();
                for c in 0..a.d_v {
                    let acc: f32 = keys
                        .iter()
                        .zip(&weights)
                        .map(|(&j, w)| w * v[(kv + j) * a.d_v + c])
                        .sum();
                    out.push(if keys.is_empty() {
                        0.0
                    } else {
                        store(acc) as f64
                    });
                }
            }
        }
    }
    out
}
