//! Split-K CPU matmul: when the output is small, each dot product is cut into four slices of K
//! summed separately and then added, as GPU libraries do to keep every core busy on skinny
//! problems. The split is chosen by problem size, so a row's bits depend on how many other rows
//! share the launch: the kernel is deterministic but honestly not batch-invariant. Rows of A and
//! columns of B are copied out contiguously first; that changes speed, not arithmetic.

use crosscheck_spec::{HostTensor, MatmulProblem};

/// Outputs (over the whole batch) up to which K is split.
pub const SPLIT_BELOW_OUTPUTS: usize = 256;
/// Slices of K when splitting.
pub const SLICES: usize = 4;
/// Shortest K worth splitting.
const MIN_SPLIT_K: usize = 2 * SLICES;

/// C (row-major, f32) = A · B, with K split into [`SLICES`] partial f32 sums when
/// `batch·m·n ≤ SPLIT_BELOW_OUTPUTS` and `k ≥ 8`, and summed in order otherwise.
pub fn matmul(p: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> Vec<f32> {
    let (av, bv) = (a.to_f32(), b.to_f32());
    let split = p.batch * p.m * p.n <= SPLIT_BELOW_OUTPUTS && p.k >= MIN_SPLIT_K;
    let slices = if split { SLICES } else { 1 };
    let slice_len = p.k.div_ceil(slices);
    let mut c = vec![0.0f32; p.batch * p.m * p.n];
    let mut row = vec![0.0f32; p.k];
    let mut columns = vec![0.0f32; p.n * p.k];
    for batch in 0..p.batch {
        let b_index = if p.b_broadcast { 0 } else { batch };
        if batch == 0 || !p.b_broadcast {
            for (j, column) in columns.chunks_exact_mut(p.k).enumerate() {
                for (kk, value) in column.iter_mut().enumerate() {
                    *value = bv[b.offset(b_index, kk, j)];
                }
            }
        }
        for i in 0..p.m {
            for (kk, value) in row.iter_mut().enumerate() {
                *value = av[a.offset(batch, i, kk)];
            }
            let out = &mut c[(batch * p.m + i) * p.n..][..p.n];
            for (value, column) in out.iter_mut().zip(columns.chunks_exact(p.k)) {
                *value = (0..slices)
                    .map(|s| {
                        let ks = (s * slice_len).min(p.k)..((s + 1) * slice_len).min(p.k);
                        dot_in_order(&row[ks.clone()], &column[ks])
                    })
                    .sum();
            }
        }
    }
    c
}

/// Σ x·y with one f32 accumulator, in index order.
fn dot_in_order(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (x, y) in x.iter().zip(y) {
        acc += x * y;
    }
    acc
}
