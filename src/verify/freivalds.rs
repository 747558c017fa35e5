//! Freivalds' check for large matmuls, with a rigorous floating-point tolerance, plus a sample
//! of fully recomputed elements. Cost O(M·K + K·N + M·N) per random vector instead of O(M·N·K).
//!
//! For a random sign vector x ∈ {±1}ⁿ the check compares w = C̃·x with z = A·(B·x), both in f64.
//! Each element may be off by its allowance e_ij ≤ c₁·g_ij + c₀ (g_ij = Σ_k |a_ik||b_kj|, c₁ and c₀
//! from the kernel's contract as in the element-wise judge, widened by the output rounding), so
//! an honest row satisfies |w_i − z_i| ≤ T_i = c₁·Σ_j g_ij + n·c₀ + the f64 evaluation error, and
//! Σ_j g_ij = Σ_k |a_ik|·(Σ_j |b_kj|) costs O(M·K + K·N). A row whose error vector d has any
//! |d_j| > T_i passes one vector with probability at most 1/2 (flipping x_j changes d·x by 2|d_j|,
//! so of each such pair of sign vectors at most one lands within ±T_i), hence at most 2^-r after
//! r independent vectors. Errors below the row's total allowance are the sampled elements' job:
//! each sampled element is recomputed in f64 and held to its own allowance.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crosscheck_spec::{HostTensor, MatmulProblem, NumericContract, Precision, Subnormals};

use crate::judge::bound::{gamma, matmul as matmul_allowance};

/// f64 unit roundoff.
const U64: f64 = 1.0 / (1u64 << 53) as f64;

/// How hard to look.
#[derive(Debug, Clone, Copy)]
pub struct FreivaldsPlan {
    /// Random sign vectors: a row error above the row's allowance escapes with probability ≤ 2^-r.
    pub vectors: usize,
    /// Output elements recomputed in full and judged one by one.
    pub samples: usize,
    /// Seed of the vectors and the sample.
    pub seed: u64,
}

impl Default for FreivaldsPlan {
    fn default() -> Self {
        FreivaldsPlan {
            vectors: 16,
            samples: 256,
            seed: 0xf4e1,
        }
    }
}

/// The outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct FreivaldsVerdict {
    /// Rows (batch·m) whose projection exceeded its tolerance, with the excess ratio.
    pub bad_rows: Vec<(usize, f64)>,
    /// Sampled elements outside their allowance: (flat index, |error| / allowance).
    pub bad_samples: Vec<(usize, f64)>,
    /// Non-finite outputs (the inputs are finite, so none is allowed).
    pub non_finite: usize,
    /// Largest |w − z| / T over rows and vectors (≤ 1 passes).
    pub worst_row_ratio: f64,
    /// Largest |error| / allowance over the sampled elements.
    pub worst_sample_ratio: f64,
    /// The bound on the chance that a row with an element error above its row allowance passed.
    pub miss_probability: f64,
}

impl FreivaldsVerdict {
    /// True when nothing exceeded its tolerance.
    pub fn passed(&self) -> bool {
        self.bad_rows.is_empty() && self.bad_samples.is_empty() && self.non_finite == 0
    }
}

/// Verifies `c` (the kernel's output decoded exactly, row-major [batch, m, n]) as A·B under
/// `contract` with output stored in `out`. Inputs must be finite.
pub fn verify_matmul(
    p: &MatmulProblem,
    a: &HostTensor,
    b: &HostTensor,
    c: &[f64],
    contract: &NumericContract,
    out: Precision,
    plan: &FreivaldsPlan,
) -> FreivaldsVerdict {
    let (av, bv) = (a.to_f32(), b.to_f32());
    let (m, n, k) = (p.m, p.n, p.k);
    // Per element: allowance ≤ c1·g + c0 (accumulation, oracle, output rounding, underflow).
    let acc = matmul_allowance(contract, k, &[0.0, 1.0]);
    let (floor, relative) = (acc[0], acc[1] - acc[0]);
    let u_out = 2.0 * out.unit_roundoff();
    let flush = if contract.subnormals == Subnormals::MayFlush {
        out.min_normal()
    } else {
        out.min_subnormal()
    };
    let c1 = relative + u_out * (1.0 + relative);
    let c0 = floor * (1.0 + u_out) + flush;
    let eval = gamma(n + k + 2, U64);
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let mut verdict = FreivaldsVerdict {
        bad_rows: Vec::new(),
        bad_samples: Vec::new(),
        non_finite: c.iter().filter(|x| !x.is_finite()).count(),
        worst_row_ratio: 0.0,
        worst_sample_ratio: 0.0,
        miss_probability: 0.5f64.powi(plan.vectors as i32),
    };
    let signs: Vec<Vec<f64>> = (0..plan.vectors)
        .map(|_| {
            (0..n)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    for batch in 0..p.batch {
        let b_index = if p.b_broadcast { 0 } else { batch };
        // B·x for every vector, and s_k = Σ_j |b_kj|.
        let mut bx = vec![vec![0.0f64; k]; plan.vectors];
        let mut b_abs = vec![0.0f64; k];
        for kk in 0..k {
            for j in 0..n {
                let v = f64::from(bv[b.offset(b_index, kk, j)]);
                b_abs[kk] += v.abs();
                for (y, x) in bx.iter_mut().zip(&signs) {
                    y[kk] += v * x[j];
                }
            }
        }
        for i in 0..m {
            let row = batch * m + i;
            let c_row = &c[row * n..(row + 1) * n];
            let (mut gauge, mut z) = (0.0f64, vec![0.0f64; plan.vectors]);
            for kk in 0..k {
                let a_ik = f64::from(av[a.offset(batch, i, kk)]);
                gauge += a_ik.abs() * b_abs[kk];
                for (zv, y) in z.iter_mut().zip(&bx) {
                    *zv += a_ik * y[kk];
                }
            }
            let c_abs: f64 = c_row.iter().map(|x| x.abs()).sum();
            let tolerance = (c1 * gauge + n as f64 * c0) * (1.0 + eval) + eval * (gauge + c_abs);
            for (x, zv) in signs.iter().zip(&z) {
                let w: f64 = c_row.iter().zip(x).map(|(c, x)| c * x).sum();
                let ratio = (w - zv).abs() / tolerance;
                let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
                verdict.worst_row_ratio = verdict.worst_row_ratio.max(ratio);
                if ratio > 1.0 {
                    verdict.bad_rows.push((row, ratio));
                    break;
                }
            }
        }
    }
    let total = p.batch * m * n;
    for _ in 0..plan.samples.min(total) {
        let index = rng.random_range(0..total);
        let (batch, i, j) = (index / (m * n), index / n % m, index % n);
        let b_index = if p.b_broadcast { 0 } else { batch };
        let (mut value, mut gauge) = (0.0f64, 0.0f64);
        for kk in 0..k {
            let prod =
                f64::from(av[a.offset(batch, i, kk)]) * f64::from(bv[b.offset(b_index, kk, j)]);
            value += prod;
            gauge += prod.abs();
        }
        let allowance = c1 * gauge + c0;
        let ratio = (c[index] - value).abs() / allowance;
        let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
        verdict.worst_sample_ratio = verdict.worst_sample_ratio.max(ratio);
        if ratio > 1.0 {
            verdict.bad_samples.push((index, ratio));
        }
    }
    verdict
}
