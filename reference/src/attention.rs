//! The f64 attention oracle: O = softmax(scale · Q·Kᵀ + mask) · V, from the exact stored inputs,
//! with each row's internals (scores, score gauges, weights) handed to a callback for the bound.
//! Rows run in parallel (over batch, heads and queries); each row's arithmetic is sequential and
//! the same on every thread, so the results do not depend on the number of threads.

use crosscheck_spec::{AttentionProblem, HostTensor};
use rayon::prelude::*;

use crate::codec;

/// One query row as the oracle computed it: what an error bound for that row needs.
#[derive(Debug)]
pub struct AttentionRow<'a> {
    /// Flat index of the row's first output element in O.
    pub output_offset: usize,
    /// The keys this row sees, in increasing order (empty: the row outputs zeros).
    pub keys: &'a [usize],
    /// scale · q·k for each visible key.
    pub scores: &'a [f64],
    /// |scale| · Σ|q||k| for each visible key: what the score's rounding error scales with.
    pub score_gauge: &'a [f64],
    /// Softmax weights exp(s − max) / Σ exp(s − max) of the visible keys.
    pub weights: &'a [f64],
    /// Value rows of the visible keys, row-major (keys × d_v).
    pub values: &'a [f64],
    /// The row's output (d_v values).
    pub output: &'a [f64],
}

/// The scale the oracle uses: the custom f32 scale, or 1/√d_qk in f64.
pub fn scale(problem: &AttentionProblem) -> f64 {
    match problem.custom_scale() {
        Some(s) => s as f64,
        None => 1.0 / (problem.d_qk as f64).sqrt(),
    }
}

/// Whether query `i` sees key `j`, straight from the definition (positions aligned to the end).
pub fn sees(problem: &AttentionProblem, i: usize, j: usize) -> bool {
    let position = i as i64 + problem.len_kv as i64 - problem.len_q as i64;
    let j = j as i64;
    let causal_ok = !problem.causal || j <= position;
    let window_ok = problem.window.is_none_or(|w| j > position - w as i64);
    causal_ok && window_ok
}

/// Computes O in f64 (row-major [batch, heads_q, len_q, d_v]) and calls `on_row` for every query
/// row, in order. A NaN score makes its whole row NaN; a NaN value makes its column NaN in every
/// row that sees it (IEEE propagation, with a NaN-propagating max).
///
/// Rows are computed in parallel, a group at a time (the group's internals are kept until
/// `on_row` has seen them, so a group is sized to about 32 MiB of them), and each row's
/// arithmetic is the same whichever thread runs it: the result does not depend on the number of
/// threads. [`attention_par`] also runs the callbacks in parallel.
pub fn attention(
    p: &AttentionProblem,
    q: &HostTensor,
    k: &HostTensor,
    v: &HostTensor,
    mut on_row: impl FnMut(&AttentionRow),
) -> Vec<f64> {
    let inputs = Inputs::new(p, q, k, v);
    let rows = p.batch * p.heads_q * p.len_q;
    let mut out = vec![0.0f64; rows * p.d_v];
    // Internals kept per row: keys, scores, gauges and weights, the value rows and the output.
    let per_row = p.len_kv * (4 + p.d_v) + p.d_v + 1;
    let group = (GROUP_BUDGET / per_row).max(1);
    for first in (0..rows).step_by(group) {
        let computed: Vec<(Scratch, Vec<f64>)> = (first..rows.min(first + group))
            .into_par_iter()
            .map(|r| {
                let mut scratch = Scratch::default();
                let mut output = vec![0.0f64; p.d_v];
                inputs.row(r, &mut scratch, &mut output);
                (scratch, output)
            })
            .collect();
        for (r, (scratch, output)) in (first..).zip(&computed) {
            out[r * p.d_v..(r + 1) * p.d_v].copy_from_slice(output);
            on_row(&scratch.row(r * p.d_v, output));
        }
    }
    out
}

/// As [`attention`], but `on_row` is called from the worker threads as rows complete, in no
/// particular order (each row exactly once; [`AttentionRow::output_offset`] says which).
pub fn attention_par(
    p: &AttentionProblem,
    q: &HostTensor,
    k: &HostTensor,
    v: &HostTensor,
    on_row: impl Fn(&AttentionRow) + Sync,
) -> Vec<f64> {
    let inputs = Inputs::new(p, q, k, v);
    let rows = p.batch * p.heads_q * p.len_q;
    let mut out = vec![0.0f64; rows * p.d_v];
    let run = |scratch: &mut Scratch, r: usize, output: &mut [f64]| {
        inputs.row(r, scratch, output);
        on_row(&scratch.row(r * p.d_v, output));
    };
    if p.d_v == 0 {
        (0..rows)
            .into_par_iter()
            .for_each_init(Scratch::default, |scratch, r| run(scratch, r, &mut []));
    } else {
        out.par_chunks_mut(p.d_v)
            .enumerate()
            .for_each_init(Scratch::default, |scratch, (r, output)| {
                run(scratch, r, output)
            });
    }
    out
}

/// How many f64 (or key indices) of row internals [`attention`] keeps at once: 32 MiB.
const GROUP_BUDGET: usize = 1 << 22;

/// The decoded inputs of one attention problem.
struct Inputs<'a> {
    p: &'a AttentionProblem,
    q: Vec<f64>,
    k: Vec<f64>,
    v: Vec<f64>,
    sigma: f64,
}

/// One row's internals, reused from row to row.
#[derive(Default)]
struct Scratch {
    keys: Vec<usize>,
    scores: Vec<f64>,
    gauge: Vec<f64>,
    weights: Vec<f64>,
    values: Vec<f64>,
}

impl Scratch {
    fn row<'a>(&'a self, output_offset: usize, output: &'a [f64]) -> AttentionRow<'a> {
        AttentionRow {
            output_offset,
            keys: &self.keys,
            scores: &self.scores,
            score_gauge: &self.gauge,
            weights: &self.weights,
            values: &self.values,
            output,
        }
    }
}

impl<'a> Inputs<'a> {
    fn new(p: &'a AttentionProblem, q: &HostTensor, k: &HostTensor, v: &HostTensor) -> Self {
        Inputs {
            p,
            q: decode(q),
            k: decode(k),
            v: decode(v),
            sigma: scale(p),
        }
    }

    /// Computes row `r` (flat over batch, query head and query) into `s` and `o`, which must be
    /// zero: the row-by-row oracle's arithmetic, unchanged.
    fn row(&self, r: usize, s: &mut Scratch, o: &mut [f64]) {
        let (p, sigma) = (self.p, self.sigma);
        let (i, h, b) = (
            r % p.len_q,
            r / p.len_q % p.heads_q,
            r / p.len_q / p.heads_q,
        );
        let k_base = (b * p.heads_kv + p.kv_head(h)) * p.len_kv;
        let q_row = &self.q[r * p.d_qk..][..p.d_qk];
        s.keys.clear();
        s.keys.extend((0..p.len_kv).filter(|&j| sees(p, i, j)));
        s.scores.clear();
        s.gauge.clear();
        s.values.clear();
        for &j in &s.keys {
            let k_row = &self.k[(k_base + j) * p.d_qk..][..p.d_qk];
            let (dot, abs) = q_row
                .iter()
                .zip(k_row)
                .fold((0.0, 0.0), |(d, a), (x, y)| (d + x * y, a + (x * y).abs()));
            s.scores.push(sigma * dot);
            s.gauge.push(sigma.abs() * abs);
            s.values
                .extend_from_slice(&self.v[(k_base + j) * p.d_v..][..p.d_v]);
        }
        let max = s.scores.iter().copied().fold(f64::NEG_INFINITY, nan_max);
        s.weights.clear();
        s.weights.extend(s.scores.iter().map(|x| (x - max).exp()));
        let total: f64 = s.weights.iter().sum();
        s.weights.iter_mut().for_each(|w| *w /= total);
        for (jj, w) in s.weights.iter().enumerate() {
            for (c, o_c) in o.iter_mut().enumerate() {
                *o_c += w * s.values[jj * p.d_v + c];
            }
        }
    }
}

fn decode(t: &HostTensor) -> Vec<f64> {
    codec::decode(t.precision, &t.bytes)
        .into_iter()
        .map(f64::from)
        .collect()
}

/// max that returns NaN if either argument is NaN (f64::max ignores NaN).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naive::{self, Rng, same_bits};
    use approx::assert_relative_eq;
    use crosscheck_spec::{Layout, Precision};

    fn problem(len_q: usize, len_kv: usize) -> AttentionProblem {
        AttentionProblem {
            batch: 1,
            heads_q: 1,
            heads_kv: 1,
            len_q,
            len_kv,
            d_qk: 2,
            d_v: 2,
            causal: false,
            window: None,
            scale_bits: Some(1.0f32.to_bits()),
        }
    }

    fn tensor(shape: Vec<usize>, values: &[f32]) -> HostTensor {
        HostTensor {
            shape,
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: codec::encode(Precision::F32, values),
        }
    }

    fn run(p: &AttentionProblem, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f64> {
        attention(
            p,
            &tensor(p.q_shape(), q),
            &tensor(p.k_shape(), k),
            &tensor(p.v_shape(), v),
            |_| {},
        )
    }

    #[test]
    fn two_keys_by_hand() {
        // Scores: q·k0 = 1, q·k1 = 0, so weights e/(e+1) and 1/(e+1).
        let p = problem(1, 2);
        let o = run(
            &p,
            &[1.0, 0.0],
            &[1.0, 0.0, 0.0, 1.0],
            &[10.0, 0.0, 0.0, 10.0],
        );
        let e = std::f64::consts::E;
        assert_relative_eq!(o[0], 10.0 * e / (e + 1.0), max_relative = 1e-15);
        assert_relative_eq!(o[1], 10.0 / (e + 1.0), max_relative = 1e-15);
    }

    #[test]
    fn masks_align_to_the_end() {
        // len_q 2, len_kv 4: query 0 sits at position 2, query 1 at 3.
        let p = AttentionProblem {
            causal: true,
            ..problem(2, 4)
        };
        assert!(sees(&p, 0, 2) && !sees(&p, 0, 3) && sees(&p, 1, 3));
        let w = AttentionProblem {
            window: Some(2),
            ..p
        };
        assert!(!sees(&w, 0, 0) && sees(&w, 0, 1) && sees(&w, 0, 2));
        // More queries than keys: the first query rows see nothing.
        let long = AttentionProblem {
            causal: true,
            ..problem(3, 1)
        };
        assert!(!sees(&long, 0, 0) && !sees(&long, 1, 0) && sees(&long, 2, 0));
    }

    #[test]
    fn rows_that_see_nothing_output_zeros() {
        let p = AttentionProblem {
            causal: true,
            ..problem(2, 1)
        };
        let o = run(&p, &[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0], &[5.0, 6.0]);
        assert_eq!(o, vec![0.0, 0.0, 5.0, 6.0]);
    }

    #[test]
    fn a_nan_key_poisons_exactly_the_rows_that_see_it() {
        let p = AttentionProblem {
            causal: true,
            ..problem(2, 2)
        };
        let o = run(
            &p,
            &[1.0; 4],
            &[0.5, 0.5, f32::NAN, 0.0],
            &[1.0, 2.0, 3.0, 4.0],
        );
        assert_eq!(&o[..2], &[1.0, 2.0]);
        assert!(o[2].is_nan() && o[3].is_nan());
    }

    #[test]
    fn a_nan_value_poisons_only_its_column() {
        let p = problem(1, 2);
        let o = run(
            &p,
            &[1.0, 1.0],
            &[1.0, 0.0, 0.0, 1.0],
            &[f32::NAN, 2.0, 3.0, 4.0],
        );
        assert!(o[0].is_nan());
        assert_relative_eq!(o[1], 3.0, max_relative = 1e-15);
    }

    #[test]
    fn large_logits_do_not_overflow() {
        let p = problem(1, 2);
        // Scores 10000 and 9996.875 (both exact): exp(10000) would overflow without the max shift.
        let o = run(
            &p,
            &[100.0, 0.0],
            &[100.0, 0.0, 99.96875, 0.0],
            &[1.0, 0.0, 0.0, 1.0],
        );
        let w1 = 1.0 / (1.0 + (3.125f64).exp());
        assert_relative_eq!(o[1], w1, max_relative = 1e-9);
    }

    #[test]
    fn gqa_reads_the_kv_head_of_the_group() {
        // Four query heads over two kv heads: heads 0, 1 read kv 0; heads 2, 3 read kv 1.
        let p = AttentionProblem {
            heads_q: 4,
            heads_kv: 2,
            d_qk: 1,
            d_v: 1,
            ..problem(1, 1)
        };
        let o = run(&p, &[1.0; 4], &[1.0, 1.0], &[7.0, 9.0]);
        assert_eq!(o, vec![7.0, 7.0, 9.0, 9.0]);
    }

    #[test]
    fn rows_report_their_internals() {
        let p = AttentionProblem {
            causal: true,
            ..problem(2, 3)
        };
        let mut seen = Vec::new();
        attention(
            &p,
            &tensor(p.q_shape(), &[1.0, 0.0, 0.0, 1.0]),
            &tensor(p.k_shape(), &[1.0, -2.0, 3.0, 4.0, 5.0, 6.0]),
            &tensor(p.v_shape(), &[1.0; 6]),
            |row| {
                seen.push((
                    row.output_offset,
                    row.keys.to_vec(),
                    row.score_gauge.to_vec(),
                    row.weights.iter().sum::<f64>(),
                ))
            },
        );
        assert_eq!(seen[0].0, 0);
        assert_eq!(seen[0].1, vec![0, 1]);
        assert_eq!(seen[1].1, vec![0, 1, 2]);
        assert_eq!(seen[1].2, vec![2.0, 4.0, 6.0]);
        assert_relative_eq!(seen[1].3, 1.0, max_relative = 1e-15);
    }

    /// Everything `on_row` saw of one row, as bits.
    #[derive(Debug, PartialEq)]
    struct Seen {
        offset: usize,
        keys: Vec<usize>,
        internals: Vec<Vec<u64>>,
    }

    fn seen(row: &AttentionRow) -> Seen {
        // NaN payloads are not part of the contract: every NaN reads the same.
        let bits = |x: &[f64]| -> Vec<u64> {
            x.iter()
                .map(|v| if v.is_nan() { 1 } else { v.to_bits() })
                .collect()
        };
        Seen {
            offset: row.output_offset,
            keys: row.keys.to_vec(),
            internals: vec![
                bits(row.scores),
                bits(row.score_gauge),
                bits(row.weights),
                bits(row.values),
                bits(row.output),
            ],
        }
    }

    /// A random problem: GQA groups, masks, windows, custom scales, f32/f16/bf16 storage, and
    /// inputs that are plain, large, or carry NaN, ±∞ and −0.
    fn random_case(rng: &mut Rng) -> (AttentionProblem, [HostTensor; 3]) {
        let heads_kv = rng.range(1, 2);
        let len_kv = rng.range(1, 40);
        let p = AttentionProblem {
            batch: rng.range(1, 2),
            heads_q: heads_kv * rng.range(1, 3),
            heads_kv,
            len_q: rng.range(1, 9),
            len_kv,
            d_qk: rng.range(1, 20),
            d_v: rng.range(1, 12), // d_v = 0 is invalid (and gives every row offset 0)
            causal: rng.chance(0.4),
            window: rng.chance(0.3).then(|| rng.range(1, len_kv)),
            scale_bits: rng.chance(0.3).then(|| (rng.signed() * 2.0).to_bits()),
        };
        let precision = rng.pick(&[Precision::F32, Precision::F16, Precision::BF16]);
        let magnitude = rng.pick(&[1.0f32, 1.0, 30.0]);
        let specials = rng.chance(0.25);
        let mut operand = |shape: Vec<usize>| {
            let len = shape.iter().product::<usize>();
            let values: Vec<f32> = (0..len)
                .map(|_| match rng.range(0, 6 * len) {
                    0 if specials => f32::NAN,
                    1 if specials => f32::INFINITY,
                    2 if specials => f32::NEG_INFINITY,
                    x if specials && x % 9 == 3 => -0.0,
                    _ => rng.signed() * magnitude,
                })
                .collect();
            HostTensor {
                shape,
                layout: Layout::RowMajor,
                precision,
                bytes: codec::encode(precision, &values),
            }
        };
        let inputs = [
            operand(p.q_shape()),
            operand(p.k_shape()),
            operand(p.v_shape()),
        ];
        (p, inputs)
    }

    #[test]
    fn random_problems_give_the_row_by_row_oracles_bits() {
        // 400 problems: the parallel oracle must reproduce the sequential one exactly, outputs
        // and every row's internals, in order; the parallel-callback one too, in any order.
        let mut rng = Rng(0xa77e);
        let mut rows = 0;
        for case in 0..400 {
            let (p, [q, k, v]) = random_case(&mut rng);
            let mut want = Vec::new();
            let old = naive::attention(&p, &q, &k, &v, |r| want.push(seen(r)));
            let mut got = Vec::new();
            let new = attention(&p, &q, &k, &v, |r| got.push(seen(r)));
            assert!(same_bits(&new, &old), "outputs, case {case} {p:?}");
            assert_eq!(got, want, "rows, case {case} {p:?}");
            let par_rows = std::sync::Mutex::new(Vec::new());
            let par = attention_par(&p, &q, &k, &v, |r| par_rows.lock().unwrap().push(seen(r)));
            let mut par_rows = par_rows.into_inner().unwrap();
            par_rows.sort_by_key(|s| s.offset);
            assert!(
                same_bits(&par, &old),
                "attention_par outputs, case {case} {p:?}"
            );
            assert_eq!(par_rows, want, "attention_par rows, case {case} {p:?}");
            rows += want.len();
        }
        assert!(rows > 4000, "{rows}");
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        let p = AttentionProblem {
            batch: 2,
            heads_q: 4,
            heads_kv: 2,
            len_q: 33,
            len_kv: 70,
            d_qk: 24,
            d_v: 9,
            causal: true,
            window: None,
            scale_bits: None,
        };
        let mut rng = Rng(11);
        let mut operand = |shape: Vec<usize>| {
            let values: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| rng.signed() * 4.0)
                .collect();
            tensor(shape, &values)
        };
        let (q, k, v) = (
            operand(p.q_shape()),
            operand(p.k_shape()),
            operand(p.v_shape()),
        );
        let want = naive::attention(&p, &q, &k, &v, |_| {});
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| attention(&p, &q, &k, &v, |_| {}));
            assert!(same_bits(&got, &want), "{threads} threads");
            let got = pool.install(|| attention_par(&p, &q, &k, &v, |_| {}));
            assert!(same_bits(&got, &want), "{threads} threads, attention_par");
        }
    }
}
