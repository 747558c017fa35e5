//! Optimised CPU matmul: operands repacked row-major, C computed in blocks of rows on rayon
//! threads, each block swept over k and n in cache-sized tiles with a 4-row register block whose
//! inner loop over contiguous columns the compiler vectorises. Every sum is still f32.

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, MatmulProblem};

use super::convert::row_major_f32;

/// Rows of C per parallel task.
const ROWS_PER_TASK: usize = 32;
/// Depth of one k tile (rows of B kept hot in cache).
const K_TILE: usize = 256;
/// Width of one n tile (columns of C and B swept together).
const N_TILE: usize = 512;
/// Rows of C updated together from one row of B.
const ROW_BLOCK: usize = 4;

/// C (row-major, f32) = A · B.
pub fn matmul(p: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> Vec<f32> {
    let (m, n, k) = (p.m, p.n, p.k);
    let a_rows = row_major_f32(a);
    let b_rows = row_major_f32(b);
    let mut c = vec![0.0f32; p.batch * m * n];
    for (batch, c_batch) in c.chunks_mut(m * n).enumerate() {
        let a_mat = &a_rows[batch * m * k..(batch + 1) * m * k];
        let b_index = if p.b_broadcast { 0 } else { batch };
        let b_mat = &b_rows[b_index * k * n..(b_index + 1) * k * n];
        c_batch
            .par_chunks_mut(ROWS_PER_TASK * n)
            .enumerate()
            .for_each(|(task, c_rows)| {
                let first_row = task * ROWS_PER_TASK;
                let rows = c_rows.len() / n;
                block(
                    &a_mat[first_row * k..(first_row + rows) * k],
                    b_mat,
                    c_rows,
                    n,
                    k,
                );
            });
    }
    c
}

/// Accumulates rows·k of A times k·n of B into `c` (rows·n, zero on entry): every element a
/// sequential f32 sum in increasing k, whatever the number of rows.
pub(crate) fn block(a: &[f32], b: &[f32], c: &mut [f32], n: usize, k: usize) {
    let rows = c.len() / n;
    for k0 in (0..k).step_by(K_TILE) {
        let k1 = (k0 + K_TILE).min(k);
        for n0 in (0..n).step_by(N_TILE) {
            let n1 = (n0 + N_TILE).min(n);
            let mut r = 0;
            while r + ROW_BLOCK <= rows {
                let (c0, rest) = c[r * n..(r + ROW_BLOCK) * n].split_at_mut(n);
                let (c1, rest) = rest.split_at_mut(n);
                let (c2, c3) = rest.split_at_mut(n);
                for kk in k0..k1 {
                    let av = [
                        a[r * k + kk],
                        a[(r + 1) * k + kk],
                        a[(r + 2) * k + kk],
                        a[(r + 3) * k + kk],
                    ];
                    let b_row = &b[kk * n + n0..kk * n + n1];
                    let cs = (
                        &mut c0[n0..n1],
                        &mut c1[n0..n1],
                        &mut c2[n0..n1],
                        &mut c3[n0..n1],
                    );
                    for (j, &bv) in b_row.iter().enumerate() {
                        cs.0[j] += av[0] * bv;
                        cs.1[j] += av[1] * bv;
                        cs.2[j] += av[2] * bv;
                        cs.3[j] += av[3] * bv;
                    }
                }
                r += ROW_BLOCK;
            }
            for r in r..rows {
                let c_row = &mut c[r * n + n0..r * n + n1];
                for kk in k0..k1 {
                    let av = a[r * k + kk];
                    for (cv, &bv) in c_row.iter_mut().zip(&b[kk * n + n0..kk * n + n1]) {
                        *cv += av * bv;
                    }
                }
            }
        }
    }
}
