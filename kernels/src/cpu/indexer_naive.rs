//! Naive CPU indexer logits: a task per query; for every key in its range, every head's f32 dot
//! product in order, relu, times the head's weight, summed over heads in order (then times the
//! key's scale for FP8). Keys outside the range are −∞.

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, SparseIndexerProblem};

use super::indexer_operands::{Operands, masked_rows, relu};

/// The logits (row-major [len_q, len_kv], f32) for the checked ranges.
pub fn logits(
    p: &SparseIndexerProblem,
    inputs: &[&HostTensor],
    ranges: &[(usize, usize)],
) -> Vec<f32> {
    let ops = Operands::new(p, inputs);
    let mut out = masked_rows(p);
    out.par_chunks_mut(p.len_kv)
        .zip(ranges)
        .enumerate()
        .for_each(|(i, (row, &(ks, ke)))| {
            for (j, o) in row.iter_mut().enumerate().take(ke).skip(ks) {
                let k_row = &ops.k[j * p.d..][..p.d];
                let mut sum = 0.0f32;
                for h in 0..p.heads {
                    let q_row = &ops.q[(i * p.heads + h) * p.d..][..p.d];
                    let dot = q_row
                        .iter()
                        .zip(k_row)
                        .fold(0.0f32, |acc, (a, b)| acc + a * b);
                    sum += relu(dot) * ops.w[i * p.heads + h];
                }
                *o = ops.finish(j, sum);
            }
        });
    out
}
