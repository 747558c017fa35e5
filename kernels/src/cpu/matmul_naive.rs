//! Naive CPU matmul: for every output element, one f32 dot product over k in order. Rows of A
//! and columns of B are copied out contiguously first; that changes speed, not arithmetic.

use crosscheck_spec::{HostTensor, MatmulProblem};

/// C (row-major, f32) = A · B, summing k products in order in an f32 accumulator.
pub fn matmul(p: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> Vec<f32> {
    let (av, bv) = (a.to_f32(), b.to_f32());
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
                *value = dot_in_order(&row, column);
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
