//! The f64 attention oracle: O = softmax(scale · Q·Kᵀ + mask) · V, from the exact stored inputs,
//! with each row's internals (scores, score gauges, weights) handed to a callback for the bound.

use crosscheck_spec::{AttentionProblem, HostTensor};

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
/// row. A NaN score makes its whole row NaN; a NaN value makes its column NaN in every row that
/// sees it (IEEE propagation, with a NaN-propagating max).
pub fn attention(
    p: &AttentionProblem,
    q: &HostTensor,
    k: &HostTensor,
    v: &HostTensor,
    mut on_row: impl FnMut(&AttentionRow),
) -> Vec<f64> {
    let (qv, kv, vv) = (decode(q), decode(k), decode(v));
    let sigma = scale(p);
    let mut out = vec![0.0f64; p.batch * p.heads_q * p.len_q * p.d_v];
    let (mut keys, mut scores, mut gauge, mut weights, mut values) =
        (vec![], vec![], vec![], vec![], vec![]);
    for b in 0..p.batch {
        for h in 0..p.heads_q {
            let g = p.kv_head(h);
            let k_base = (b * p.heads_kv + g) * p.len_kv;
            for i in 0..p.len_q {
                let q_row = &qv[((b * p.heads_q + h) * p.len_q + i) * p.d_qk..][..p.d_qk];
                keys.clear();
                keys.extend((0..p.len_kv).filter(|&j| sees(p, i, j)));
                scores.clear();
                gauge.clear();
                values.clear();
                for &j in &keys {
                    let k_row = &kv[(k_base + j) * p.d_qk..][..p.d_qk];
                    let (dot, abs) = q_row
                        .iter()
                        .zip(k_row)
                        .fold((0.0, 0.0), |(d, a), (x, y)| (d + x * y, a + (x * y).abs()));
                    scores.push(sigma * dot);
                    gauge.push(sigma.abs() * abs);
                    values.extend_from_slice(&vv[(k_base + j) * p.d_v..][..p.d_v]);
                }
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, nan_max);
                weights.clear();
                weights.extend(scores.iter().map(|s| (s - max).exp()));
                let total: f64 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= total);
                let offset = ((b * p.heads_q + h) * p.len_q + i) * p.d_v;
                let o = &mut out[offset..offset + p.d_v];
                for (jj, w) in weights.iter().enumerate() {
                    for (c, o_c) in o.iter_mut().enumerate() {
                        *o_c += w * values[jj * p.d_v + c];
                    }
                }
                on_row(&AttentionRow {
                    output_offset: offset,
                    keys: &keys,
                    scores: &scores,
                    score_gauge: &gauge,
                    weights: &weights,
                    values: &values,
                    output: o,
                });
            }
        }
    }
    out
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
}
