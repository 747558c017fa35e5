//! The f64 matmul oracle and its per-element gauge Σ|a||b|.
//!
//! The computation is blocked and threaded like a GEMM — operands packed into panels, a slice of
//! k at a time, register tiles of MR × NR outputs, rayon tasks over blocks of rows — but every
//! output element is still the plain sequential f64 sum of its k exact products, in increasing k,
//! starting from +0: a register tile is loaded from the output before each slice of k and stored
//! after it, so no partial sum is ever started afresh or combined with another. The values and
//! gauges are therefore bit-identical to the naive triple loop's, whatever the block sizes, the
//! kernel (AVX2 with FMA, or portable) or the number of threads (docs/numerics.md, "The oracle's
//! own error").

use crosscheck_spec::{HostTensor, MatmulProblem};
use rayon::prelude::*;

use crate::codec;

/// Rows of a register tile.
const MR: usize = 4;
/// Columns of a register tile (one AVX2 vector of f64).
const NR: usize = 4;
/// Depth of one pass of the register tiles: a KC × NR panel of B (8 KiB) stays in L1 while the
/// tiles of a row block go past it, and the row block's KC × MC panel of A (128 KiB) in L2.
const KC: usize = 256;
/// Rows of C per task: the unit of parallel work.
const MC: usize = 64;

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
/// exact in f64, and each element's value and gauge are summed sequentially in increasing k, so
/// the values carry at most γ_{k−1}(2^-53)·gauge of error and the computed gauge is within a
/// factor 1 ± γ_{k−1}(2^-53) of the exact Σ|a||b|; the judge's bound accounts for both. Blocked
/// and threaded; the result does not depend on the number of threads.
pub fn matmul(problem: &MatmulProblem, a: &HostTensor, b: &HostTensor) -> MatmulReference {
    with_kernel(problem, a, b, Kernel::detect())
}

/// [`matmul`] with a given register kernel.
fn with_kernel(
    problem: &MatmulProblem,
    a: &HostTensor,
    b: &HostTensor,
    kernel: Kernel,
) -> MatmulReference {
    let MatmulProblem { batch, m, n, k, .. } = *problem;
    let a_vals = codec::decode(a.precision, &a.bytes);
    let b_vals = codec::decode(b.precision, &b.bytes);
    let mut values = vec![0.0f64; batch * m * n];
    let mut gauge = vec![0.0f64; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return MatmulReference { values, gauge }; // empty sums: +0, as the loop gives them
    }
    for bi in 0..batch {
        let b_index = if problem.b_broadcast { 0 } else { bi };
        let packed_b = pack_b(&Strided::of(b, &b_vals, b_index), k, n);
        let a_view = Strided::of(a, &a_vals, bi);
        let out = bi * m * n..(bi + 1) * m * n;
        values[out.clone()]
            .par_chunks_mut(MC * n)
            .zip(gauge[out].par_chunks_mut(MC * n))
            .enumerate()
            .for_each(|(task, (c, g))| {
                let first = task * MC;
                let rows = c.len() / n;
                let packed_a = pack_a(&a_view, first, rows, k);
                row_block(kernel, &packed_a, &packed_b, c, g, rows, n, k);
            });
    }
    MatmulReference { values, gauge }
}

/// One matrix of a stored operand: element (row, col) is `values[base + row·rs + col·cs]`.
struct Strided<'a> {
    values: &'a [f32],
    base: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Strided<'a> {
    /// The matrix `outer` of `t`, whose decoded values are `values`.
    fn of(t: &HostTensor, values: &'a [f32], outer: usize) -> Self {
        let base = t.offset(outer, 0, 0);
        Strided {
            values,
            base,
            rs: t.offset(outer, 1, 0) - base,
            cs: t.offset(outer, 0, 1) - base,
        }
    }

    fn at(&self, row: usize, col: usize) -> f64 {
        f64::from(self.values[self.base + row * self.rs + col * self.cs])
    }
}

/// Rows `first..first + rows` of A as ⌈rows / MR⌉ panels of k × MR values (k-major), the rows
/// past the end zero.
fn pack_a(a: &Strided, first: usize, rows: usize, k: usize) -> Vec<f64> {
    let mut packed = vec![0.0f64; rows.div_ceil(MR) * k * MR];
    for (p, panel) in packed.chunks_exact_mut(k * MR).enumerate() {
        for r in 0..MR.min(rows - p * MR) {
            let row = first + p * MR + r;
            for kk in 0..k {
                panel[kk * MR + r] = a.at(row, kk);
            }
        }
    }
    packed
}

/// B (k × n) as ⌈n / NR⌉ panels of k × NR values (k-major), the columns past the end zero.
fn pack_b(b: &Strided, k: usize, n: usize) -> Vec<f64> {
    let mut packed = vec![0.0f64; n.div_ceil(NR) * k * NR];
    packed
        .par_chunks_mut(k * NR)
        .enumerate()
        .for_each(|(q, panel)| {
            for kk in 0..k {
                for c in 0..NR.min(n - q * NR) {
                    panel[kk * NR + c] = b.at(kk, q * NR + c);
                }
            }
        });
    packed
}

/// A register tile of outputs.
type Tile = [[f64; NR]; MR];

/// Accumulates a block of `rows` rows of C and G (row-major, `n` columns) from the packed A rows
/// and all of packed B: for each slice of KC values of k in increasing order, every tile is
/// loaded, continued by the kernel and stored back, so each element's sum stays sequential in k.
#[allow(clippy::too_many_arguments)]
fn row_block(
    kernel: Kernel,
    packed_a: &[f64],
    packed_b: &[f64],
    c: &mut [f64],
    g: &mut [f64],
    rows: usize,
    n: usize,
    k: usize,
) {
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        for (q, b_panel) in packed_b.chunks_exact(k * NR).enumerate() {
            let b_slice = &b_panel[pc * NR..(pc + kc) * NR];
            let (col, cols) = (q * NR, NR.min(n - q * NR));
            for (p, a_panel) in packed_a.chunks_exact(k * MR).enumerate() {
                let a_slice = &a_panel[pc * MR..(pc + kc) * MR];
                let (row, tile_rows) = (p * MR, MR.min(rows - p * MR));
                let (mut c_tile, mut g_tile) = ([[0.0; NR]; MR], [[0.0; NR]; MR]);
                for r in 0..tile_rows {
                    let at = (row + r) * n + col;
                    c_tile[r][..cols].copy_from_slice(&c[at..at + cols]);
                    g_tile[r][..cols].copy_from_slice(&g[at..at + cols]);
                }
                kernel.run(a_slice, b_slice, &mut c_tile, &mut g_tile);
                for r in 0..tile_rows {
                    let at = (row + r) * n + col;
                    c[at..at + cols].copy_from_slice(&c_tile[r][..cols]);
                    g[at..at + cols].copy_from_slice(&g_tile[r][..cols]);
                }
            }
        }
    }
}

/// The register kernel in use. Both compute the same bits: every product of two stored values is
/// exact in f64, so a fused multiply-add rounds exactly as a multiplication followed by an
/// addition does.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    /// Plain Rust, for any target.
    Portable,
    /// AVX2 vectors with FMA, where the CPU has them.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Kernel::Avx2Fma;
        }
        Kernel::Portable
    }

    /// c[r][j] += a_r·b_j and g[r][j] += |a_r|·|b_j| for each step of k, in order; `a` holds kc
    /// groups of MR values, `b` kc groups of NR.
    fn run(self, a: &[f64], b: &[f64], c: &mut Tile, g: &mut Tile) {
        assert_eq!(a.len() / MR, b.len() / NR);
        match self {
            Kernel::Portable => portable(a, b, c, g),
            // SAFETY: selected only where the CPU reports AVX2 and FMA; the slices hold the kc
            // groups the kernel reads (asserted above).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { avx2_fma(a, b, c, g) },
        }
    }
}

/// The portable kernel: the naive loop's arithmetic, tile by tile.
fn portable(a: &[f64], b: &[f64], c: &mut Tile, g: &mut Tile) {
    for (ak, bk) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for r in 0..MR {
            for j in 0..NR {
                let product = ak[r] * bk[j];
                c[r][j] += product;
                g[r][j] += product.abs();
            }
        }
    }
}

/// The AVX2 kernel: one vector per tile row for C and one for G (eight accumulators), |a| and |b|
/// by clearing sign bits, one FMA per product.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma(a: &[f64], b: &[f64], c: &mut Tile, g: &mut Tile) {
    use std::arch::x86_64::*;
    const { assert!(NR == 4) };
    // SAFETY: every load and store below reads or writes inside `a`, `b`, `c` or `g`: the tiles
    // are MR rows of 4 f64, and step s reads a[s·MR..(s + 1)·MR] and b[s·NR..(s + 1)·NR] with
    // s < min(a.len() / MR, b.len() / NR).
    unsafe {
        let sign = _mm256_set1_pd(-0.0);
        let mut cv: [__m256d; MR] = [_mm256_setzero_pd(); MR];
        let mut gv: [__m256d; MR] = [_mm256_setzero_pd(); MR];
        for r in 0..MR {
            cv[r] = _mm256_loadu_pd(c[r].as_ptr());
            gv[r] = _mm256_loadu_pd(g[r].as_ptr());
        }
        let steps = (a.len() / MR).min(b.len() / NR);
        let (ap, bp) = (a.as_ptr(), b.as_ptr());
        for s in 0..steps {
            let bv = _mm256_loadu_pd(bp.add(s * NR));
            let b_abs = _mm256_andnot_pd(sign, bv);
            for r in 0..MR {
                let av = _mm256_broadcast_sd(&*ap.add(s * MR + r));
                cv[r] = _mm256_fmadd_pd(av, bv, cv[r]);
                gv[r] = _mm256_fmadd_pd(_mm256_andnot_pd(sign, av), b_abs, gv[r]);
            }
        }
        for r in 0..MR {
            _mm256_storeu_pd(c[r].as_mut_ptr(), cv[r]);
            _mm256_storeu_pd(g[r].as_mut_ptr(), gv[r]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naive::{self, Rng, same_bits};
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
    fn empty_dimensions_give_empty_or_zero_outputs() {
        let p = problem(2, 3, 2, 0, Layout::RowMajor, Layout::ColMajor, false);
        let a = tensor(p.a_shape(), Layout::RowMajor, Precision::F32, &[]);
        let b = tensor(p.b_shape(), Layout::ColMajor, Precision::F32, &[]);
        let r = matmul(&p, &a, &b);
        assert_eq!(r.values, vec![0.0; 12]);
        assert_eq!(r.gauge, vec![0.0; 12]);
        let p = problem(1, 0, 3, 2, Layout::RowMajor, Layout::RowMajor, false);
        let a = tensor(p.a_shape(), Layout::RowMajor, Precision::F32, &[]);
        let b = tensor(p.b_shape(), Layout::RowMajor, Precision::F32, &[1.0; 6]);
        assert!(matmul(&p, &a, &b).values.is_empty());
    }

    #[test]
    fn the_kernels_agree_bit_for_bit() {
        // The portable and the AVX2 kernel (where present) on the same packed panels, with
        // signed zeros, infinities, NaN and subnormal products among the values.
        // Values are f32 numbers, as the oracle's always are, so every product is exact.
        let specials = [0.0, -0.0, 1.5, -3.25, f32::INFINITY, 1e-40, -7.0, 0.1];
        let kc = 37;
        let a: Vec<f64> = (0..kc * MR).map(|i| specials[i * 5 % 8].into()).collect();
        let b: Vec<f64> = (0..kc * NR).map(|i| specials[i * 3 % 7].into()).collect();
        let start: Tile = [[0.25, -0.0, 3.0, 1e10]; MR];
        let (mut c0, mut g0) = (start, start);
        portable(&a, &b, &mut c0, &mut g0);
        let (mut c1, mut g1) = (start, start);
        Kernel::detect().run(&a, &b, &mut c1, &mut g1);
        let bits = |t: &Tile| -> Vec<u64> {
            t.iter()
                .flatten()
                .map(|x| if x.is_nan() { 1 } else { x.to_bits() })
                .collect()
        };
        assert_eq!(bits(&c0), bits(&c1));
        assert_eq!(bits(&g0), bits(&g1));
        assert!(
            c0.iter().flatten().any(|x| x.is_nan()),
            "the test must reach NaN"
        );
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

    /// What the random inputs look like.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        /// U(−1, 1): cancellation, every sum rounded.
        Uniform,
        /// Random significands over 2^±60.
        Wide,
        /// Mostly U(−1, 1), with −0, subnormals of f32, ±∞ and NaN.
        Specials,
        /// Integers in [−8, 8]: the exact tier, every partial sum exact.
        Integers,
    }

    fn value(rng: &mut Rng, kind: Kind, k: usize) -> f32 {
        match kind {
            Kind::Uniform => rng.signed(),
            Kind::Wide => rng.signed() * 2f32.powi(rng.range(0, 120) as i32 - 60),
            Kind::Specials => match rng.range(0, 8 * k) {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                x if x % 8 == 3 => -0.0,
                x if x % 8 == 4 => rng.signed() * 1e-39,
                _ => rng.signed(),
            },
            Kind::Integers => rng.range(0, 16) as f32 - 8.0,
        }
    }

    /// A random problem: shapes on both sides of the tile (4), row-block (64) and depth (256)
    /// boundaries, any layouts, broadcast B, f32/f16/bf16 storage.
    fn random_case(rng: &mut Rng, kind: Kind) -> (MatmulProblem, HostTensor, HostTensor) {
        let mut side = |small: usize, large: (usize, usize)| {
            if rng.chance(0.7) {
                rng.range(1, small)
            } else {
                rng.range(large.0, large.1)
            }
        };
        let (m, n) = (side(9, (60, 70)), side(9, (13, 21)));
        let k = match rng.range(0, 3) {
            0 | 1 => rng.range(1, 12),
            2 => rng.range(250, 262),
            _ => rng.range(510, 520),
        };
        let batch = rng.range(1, 3);
        let p = problem(
            batch,
            m,
            n,
            k,
            rng.pick(&[Layout::RowMajor, Layout::ColMajor]),
            rng.pick(&[Layout::RowMajor, Layout::ColMajor]),
            batch > 1 && rng.chance(0.3),
        );
        let precision = rng.pick(&[Precision::F32, Precision::F16, Precision::BF16]);
        let mut operand = |shape: Vec<usize>, layout| {
            let values: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| value(rng, kind, k))
                .collect();
            tensor(shape, layout, precision, &values)
        };
        let a = operand(p.a_shape(), p.a_layout);
        let b = operand(p.b_shape(), p.b_layout);
        (p, a, b)
    }

    #[test]
    fn random_problems_give_the_naive_oracles_bits() {
        // 320 problems, 80 of each kind: the blocked, threaded oracle must reproduce the naive
        // loop exactly (each element is the same sequential sum), NaN matching NaN, with the
        // kernel this CPU gets and with the portable one.
        let mut rng = Rng(0x0acc_e55e);
        for case in 0..320 {
            let kind = [Kind::Uniform, Kind::Wide, Kind::Specials, Kind::Integers][case % 4];
            let (p, a, b) = random_case(&mut rng, kind);
            let old = naive::matmul(&p, &a, &b);
            for kernel in [Kernel::detect(), Kernel::Portable] {
                let new = with_kernel(&p, &a, &b, kernel);
                assert!(
                    same_bits(&new.values, &old.values),
                    "values, case {case} {p:?}"
                );
                assert!(
                    same_bits(&new.gauge, &old.gauge),
                    "gauges, case {case} {p:?}"
                );
            }
        }
    }

    #[test]
    fn exact_tier_inputs_give_the_exact_integers() {
        // Integers up to 2^20 in f32: every product is below 2^40 and every partial sum below
        // 2^50, so each element must be exactly the integer sum, as it was in the naive loop.
        let mut rng = Rng(0xe4ac7);
        for case in 0..40 {
            let (m, n, k) = (rng.range(1, 70), rng.range(1, 21), rng.range(1, 600));
            let p = problem(
                1,
                m,
                n,
                k,
                rng.pick(&[Layout::RowMajor, Layout::ColMajor]),
                rng.pick(&[Layout::RowMajor, Layout::ColMajor]),
                false,
            );
            let mut ints = |len: usize| -> Vec<i64> {
                (0..len)
                    .map(|_| rng.range(0, 1 << 21) as i64 - (1 << 20))
                    .collect()
            };
            let (ai, bi) = (ints(m * k), ints(k * n));
            let as_f32 = |v: &[i64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
            let a = tensor(p.a_shape(), p.a_layout, Precision::F32, &as_f32(&ai));
            let b = tensor(p.b_shape(), p.b_layout, Precision::F32, &as_f32(&bi));
            let r = matmul(&p, &a, &b);
            assert!(same_bits(&r.values, &naive::matmul(&p, &a, &b).values));
            for i in 0..m {
                for j in 0..n {
                    let (mut sum, mut abs) = (0i64, 0i64);
                    for kk in 0..k {
                        let x = ai[a.offset(0, i, kk)] * bi[b.offset(0, kk, j)];
                        sum += x;
                        abs += x.abs();
                    }
                    assert_eq!(r.values[i * n + j], sum as f64, "case {case} ({i}, {j})");
                    assert_eq!(r.gauge[i * n + j], abs as f64, "case {case} ({i}, {j})");
                }
            }
        }
    }

    /// (s, e) with s = fl(a + b) and s + e = a + b exactly.
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let bb = s - a;
        (s, (a - (s - bb)) + (b - bb))
    }

    /// Adds `x` exactly to a nonoverlapping expansion (Shewchuk's GROW-EXPANSION, zeros dropped).
    fn grow(expansion: &mut Vec<f64>, x: f64) {
        let mut q = x;
        let mut kept = Vec::with_capacity(expansion.len() + 1);
        for &h in expansion.iter() {
            let (s, e) = two_sum(q, h);
            if e != 0.0 {
                kept.push(e);
            }
            q = s;
        }
        kept.push(q);
        *expansion = kept;
    }

    fn approximate(expansion: &[f64]) -> f64 {
        expansion.iter().sum()
    }

    #[test]
    fn the_oracles_error_is_within_the_derived_bound() {
        // Against the exact sum (an exact floating-point expansion of the exact products): the
        // value is within γ_{k−1}(2^-53)·G and the computed gauge within the same factor of G,
        // where G is the exact Σ|a||b| (docs/numerics.md, "The oracle's own error").
        let u = 1.0 / (1u64 << 53) as f64;
        let gamma = |n: usize| n as f64 * u / (1.0 - n as f64 * u);
        let mut rng = Rng(0xb0_0d);
        let (mut checked, mut rounded) = (0, 0);
        for case in 0..60 {
            let kind = [Kind::Uniform, Kind::Wide][case % 2];
            let (p, a, b) = random_case(&mut rng, kind);
            let r = matmul(&p, &a, &b);
            let (av, bv) = (a.to_f32(), b.to_f32());
            for bi in 0..p.batch {
                let b_index = if p.b_broadcast { 0 } else { bi };
                for i in 0..p.m {
                    for j in 0..p.n {
                        let (mut exact, mut exact_gauge) = (Vec::new(), Vec::new());
                        for kk in 0..p.k {
                            let x = f64::from(av[a.offset(bi, i, kk)])
                                * f64::from(bv[b.offset(b_index, kk, j)]);
                            grow(&mut exact, x);
                            grow(&mut exact_gauge, x.abs());
                        }
                        let at = (bi * p.m + i) * p.n + j;
                        if !r.gauge[at].is_finite() {
                            continue; // f16 storage overflowed a wide value to ∞
                        }
                        let g = approximate(&exact_gauge);
                        let allowed = gamma(p.k - 1) * g * (1.0 + 1e-9);
                        grow(&mut exact, -r.values[at]);
                        grow(&mut exact_gauge, -r.gauge[at]);
                        let (err, gauge_err) =
                            (approximate(&exact).abs(), approximate(&exact_gauge).abs());
                        assert!(err <= allowed, "case {case} value error {err} > {allowed}");
                        assert!(gauge_err <= allowed, "case {case} gauge error {gauge_err}");
                        checked += 1;
                        rounded += usize::from(err > 0.0);
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        assert!(
            rounded > checked / 4,
            "only {rounded} of {checked} sums were rounded"
        );
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        let mut rng = Rng(7);
        let p = problem(2, 150, 37, 300, Layout::ColMajor, Layout::RowMajor, false);
        let mut operand = |shape: Vec<usize>, layout| {
            let values: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| rng.signed())
                .collect();
            tensor(shape, layout, Precision::F32, &values)
        };
        let (a, b) = (
            operand(p.a_shape(), p.a_layout),
            operand(p.b_shape(), p.b_layout),
        );
        let want = naive::matmul(&p, &a, &b);
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let r = pool.install(|| matmul(&p, &a, &b));
            assert!(same_bits(&r.values, &want.values), "{threads} threads");
            assert!(same_bits(&r.gauge, &want.gauge), "{threads} threads");
        }
    }
}
