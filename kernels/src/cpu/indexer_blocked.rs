//! Blocked CPU indexer logits, organised as DeepGEMM's kernel is: a task per (query, tile of 32
//! keys); each head's query row is read once per tile and dotted with the tile's keys in 8
//! independent lanes (a vectorisable inner loop), relu'd and weighted into per-key head sums,
//! then the FP8 key scale. Keys outside the range are −∞.

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, SparseIndexerProblem};

use super::indexer_operands::{Operands, masked_rows, relu};

/// Keys per task.
pub const KEY_TILE: usize = 32;
/// Partial sums per dot product.
const LANES: usize = 8;

/// q · k with 8 interleaved partial sums, added pairwise at the end.
fn dot(q: &[f32], k: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (qc, kc) = (q.chunks_exact(LANES), k.chunks_exact(LANES));
    let tail: f32 = qc
        .remainder()
        .iter()
        .zip(kc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in qc.zip(kc) {
        for l in 0..LANES {
            lanes[l] += a[l] * b[l];
        }
    }
    let quads = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (quads[0] + quads[2]) + (quads[1] + quads[3]) + tail
}

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
        .flat_map(|(i, (row, range))| {
            row.par_chunks_mut(KEY_TILE)
                .enumerate()
                .map(move |(t, tile)| (i, *range, t, tile))
        })
        .for_each(|(i, (ks, ke), t, tile)| {
            let start = t * KEY_TILE;
            let (lo, hi) = (ks.max(start), ke.min(start + tile.len()));
            if lo >= hi {
                return;
            }
            let mut sums = [0.0f32; KEY_TILE];
            for h in 0..p.heads {
                let q_row = &ops.q[(i * p.heads + h) * p.d..][..p.d];
                let w = ops.w[i * p.heads + h];
                for (j, sum) in (lo..hi).zip(sums.iter_mut()) {
                    *sum += relu(dot(q_row, &ops.k[j * p.d..][..p.d])) * w;
                }
            }
            for (j, sum) in (lo..hi).zip(sums) {
                tile[j - start] = ops.finish(j, sum);
            }
        });
    out
}
