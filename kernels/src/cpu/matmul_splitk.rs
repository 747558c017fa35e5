//! Split-K CPU matmul: when the output is small, each dot product is cut into four slices of K
//! summed separately and then added, as GPU libraries do to keep every core busy on skinny
//! problems. The split is chosen by problem size, so a row's bits depend on how many other rows
//! share the launch: the kernel is deterministic but honestly not batch-invariant.

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
    for batch in 0..p.batch {
        let b_index = if p.b_broadcast { 0 } else { batch };
        for i in 0..p.m {
            for j in 0..p.n {
                let dot = |ks: std::ops::Range<usize>| {
                    ks.fold(0.0f32, |acc, kk| {
                        acc + av[a.offset(batch, i, kk)] * bv[b.offset(b_index, kk, j)]
                    })
                };
                let partials =
                    (0..slices).map(|s| dot(s * slice_len..((s + 1) * slice_len).min(p.k)));
                c[(batch * p.m + i) * p.n + j] = partials.sum();
            }
        }
    }
    c
}
