//! Naive CPU matmul: for every output element, one f32 dot product read straight from storage.

use crosscheck_spec::{HostTensor, MatmulProblem};

/// C (row-major, f32) = A · B, summing k products in order in an f32 accumulator.
pub fn matmul(p: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> Vec<f32> {
    let (av, bv) = (a.to_f32(), b.to_f32());
    let mut c = vec![0.0f32; p.batch * p.m * p.n];
    for batch in 0..p.batch {
        let b_index = if p.b_broadcast { 0 } else { batch };
        for i in 0..p.m {
            for j in 0..p.n {
                let mut acc = 0.0f32;
                for kk in 0..p.k {
                    acc += av[a.offset(batch, i, kk)] * bv[b.offset(b_index, kk, j)];
                }
                c[(batch * p.m + i) * p.n + j] = acc;
            }
        }
    }
    c
}
