//! The f64 matmul oracle and its per-element gauge Σ|a||b|.

use crosscheck_spec::{HostTensor, MatmulProblem};

use crate::codec;

/// Oracle output for a matmul: per output element (row-major [batch, m, n]) the f64 result and
/// the gauge Σ_k |a_ik|·|b_kj| that the error bound scales with.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulReference {
    /// Σ_k a_ik·b_kj, summed in f64 from the exact stored inputs.
    pub values: Vec<f64>,
    /// Σ_k |a_ik|·|b_kj|.
    pub gauge: Vec<f64>,
}

/// Computes C = A·B in f64 from the exact stored values of `a` and `b` (shapes as in
/// [`MatmulProblem::a_shape`] / [`MatmulProblem::b_shape`]). Products of two stored values are
/// exact in f64; the sums carry at most γ_k(2^-53)·gauge of error, which the judge adds to its bound.
pub fn matmul(problem: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> MatmulReference {
    let MatmulProblem { batch, m, n, k, .. } = *problem;
    let a_vals = codec::decode(a.precision, &a.bytes);
    let b_vals = codec::decode(b.precision, &b.bytes);
    let mut values = vec![0.0f64; batch * m * n];
    let mut gauge = vec![0.0f64; batch * m * n];
    // Row-major f64 copy of one B matrix (k×n) so the inner loop runs over contiguous columns.
    let mut b_rows = vec![0.0f64; k * n];
    for bi in 0..batch {
        let b_index = if problem.b_broadcast { 0 } else { bi };
        for kk in 0..k {
            for j in 0..n {
                b_rows[kk * n + j] = b_vals[b.offset(b_index, kk, j)] as f64;
            }
        }
        for i in 0..m {
            let out = (bi * m + i) * n;
            let (c_row, g_row) = (&mut values[out..out + n], &mut gauge[out..out + n]);
            for kk in 0..k {
                let a_ik = a_vals[a.offset(bi, i, kk)] as f64;
                let b_row = &b_rows[kk * n..(kk + 1) * n];
                for ((c, g), &b_kj) in c_row.iter_mut().zip(g_row.iter_mut()).zip(b_row) {
                    *c += a_ik * b_kj;
                    *g += (a_ik * b_kj).abs();
                }
            }
        }
    }
    MatmulReference { values, gauge }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use crosscheck_spec::{Layout, Precision};

    fn tensor(
        shape: Vec<usize>,
        layout: Layout,
        precision: Precision,
        values: &[f32],
    ) -> HostTensor {
        HostTensor {
            shape,
            layout,
            precision,
            bytes: codec::encode(precision, values),
        }
    }

    fn problem(
        batch: usize,
        m: usize,
        n: usize,
        k: usize,
        a: Layout,
        b: Layout,
        bcast: bool,
    ) -> MatmulProblem {
        MatmulProblem {
            batch,
            m,
            n,
            k,
            a_layout: a,
            b_layout: b,
            b_broadcast: bcast,
        }
    }

    #[test]
    fn small_product_by_hand() {
        // A = [[1, 2], [3, 4]] row-major, B = [[5, 6], [7, 8]] column-major storage [5, 7, 6, 8].
        let p = problem(1, 2, 2, 2, Layout::RowMajor, Layout::ColMajor, false);
        let a = tensor(
            vec![1, 2, 2],
            Layout::RowMajor,
            Precision::F32,
            &[1.0, 2.0, 3.0, 4.0],
        );
        let b = tensor(
            vec![1, 2, 2],
            Layout::ColMajor,
            Precision::F32,
            &[5.0, 7.0, 6.0, 8.0],
        );
        let r = matmul(&p, &a, &b);
        assert_eq!(r.values, vec![19.0, 22.0, 43.0, 50.0]);
        assert_eq!(r.gauge, r.values);
    }

    #[test]
    fn gauge_sums_magnitudes() {
        let p = problem(1, 1, 1, 3, Layout::RowMajor, Layout::RowMajor, false);
        let a = tensor(
            vec![1, 1, 3],
            Layout::RowMajor,
            Precision::F32,
            &[1.0, -2.0, 3.0],
        );
        let b = tensor(
            vec![1, 3, 1],
            Layout::RowMajor,
            Precision::F32,
            &[4.0, 5.0, -6.0],
        );
        let r = matmul(&p, &a, &b);
        assert_eq!(r.values, vec![4.0 - 10.0 - 18.0]);
        assert_eq!(r.gauge, vec![4.0 + 10.0 + 18.0]);
    }

    #[test]
    fn broadcast_reuses_the_single_b() {
        let p = problem(2, 1, 1, 2, Layout::RowMajor, Layout::RowMajor, true);
        let a = tensor(
            vec![2, 1, 2],
            Layout::RowMajor,
            Precision::F32,
            &[1.0, 1.0, 2.0, 2.0],
        );
        let b = tensor(vec![1, 2, 1], Layout::RowMajor, Precision::F32, &[3.0, 4.0]);
        assert_eq!(matmul(&p, &a, &b).values, vec![7.0, 14.0]);
    }

    #[test]
    fn oracle_reads_the_stored_half_values() {
        // 0.1 is stored in f16 as 0.0999755859375; the oracle must use that, not 0.1.
        let p = problem(1, 1, 1, 1, Layout::RowMajor, Layout::RowMajor, false);
        let a = tensor(vec![1, 1, 1], Layout::RowMajor, Precision::F16, &[0.1]);
        let b = tensor(vec![1, 1, 1], Layout::RowMajor, Precision::F16, &[1.0]);
        assert_eq!(matmul(&p, &a, &b).values, vec![0.0999755859375]);
    }

    #[test]
    fn agrees_with_a_straightforward_triple_loop_on_every_layout() {
        let (m, n, k) = (5, 7, 9);
        let av: Vec<f32> = (0..2 * m * k)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let bv: Vec<f32> = (0..2 * k * n)
            .map(|i| ((i * 53 % 29) as f32 - 14.0) / 5.0)
            .collect();
        for a_layout in [Layout::RowMajor, Layout::ColMajor] {
            for b_layout in [Layout::RowMajor, Layout::ColMajor] {
                let p = problem(2, m, n, k, a_layout, b_layout, false);
                let a = tensor(p.a_shape(), a_layout, Precision::F32, &av);
                let b = tensor(p.b_shape(), b_layout, Precision::F32, &bv);
                let r = matmul(&p, &a, &b);
                for bi in 0..2 {
                    for i in 0..m {
                        for j in 0..n {
                            let want: f64 = (0..k)
                                .map(|kk| {
                                    av[a.offset(bi, i, kk)] as f64 * bv[b.offset(bi, kk, j)] as f64
                                })
                                .sum();
                            assert_relative_eq!(
                                r.values[(bi * m + i) * n + j],
                                want,
                                max_relative = 1e-15
                            );
                        }
                    }
                }
            }
        }
    }
}
