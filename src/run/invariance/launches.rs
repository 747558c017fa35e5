//! Smaller launches that compute part of a case's output again: one matmul row alone, the
//! second half of the rows, one batch entry alone, the last query alone. Each keeps the exact
//! stored inputs of the rows it computes, so its bits can be compared with the full launch's.

use std::ops::Range;

use crosscheck_spec::{AttentionProblem, HostTensor, MatmulProblem, Problem, QuantMatmulProblem};

/// A launch computing part of a case's output again.
#[derive(Debug, Clone)]
pub struct SubLaunch {
    /// What it computes, for reports: `a launch of row 6 alone (m = 1)`.
    pub what: String,
    /// Its problem.
    pub problem: Problem,
    /// Its inputs, cut from the case's.
    pub inputs: Vec<HostTensor>,
    /// Where its output sits in the full output: (first element of the sub-launch's output,
    /// first element of the full output, elements).
    pub spans: Vec<(usize, usize, usize)>,
}

/// The smaller launches that recompute parts of `problem`'s output from `inputs`. Matmuls and
/// quantized matmuls recompute rows, attention recomputes a batch entry and the last queries
/// (masks are aligned to the end, so a query keeps its position). Quantize and dequantize
/// have none.
pub fn sub_launches(problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    match problem {
        Problem::Matmul(p) => matmul(p, inputs),
        Problem::Attention(p) => attention(p, inputs),
        Problem::QuantMatmul(p) => quant_matmul(p, inputs),
        Problem::Quantize(_) | Problem::Dequantize(_) => Vec::new(),
    }
}

/// Row ranges worth recomputing out of `rows`: the last row alone, and the second half.
fn row_ranges(rows: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    if rows > 1 {
        ranges.push(rows - 1..rows);
    }
    if rows > 2 {
        ranges.push(rows / 2..rows);
    }
    ranges
}

/// `row 6` or `rows 3..7` (`query 4`, `queries 2..5`).
fn span_name(noun: &str, range: &Range<usize>) -> String {
    if range.len() == 1 {
        format!("{noun} {}", range.start)
    } else {
        let plural = noun
            .strip_suffix('y')
            .map_or(format!("{noun}s"), |stem| format!("{stem}ies"));
        format!("{plural} {}..{}", range.start, range.end)
    }
}

/// `rows` of the innermost matrices `outer` of `t`, as a tensor of shape `shape` in `t`'s layout.
fn gather(
    t: &HostTensor,
    shape: Vec<usize>,
    outer: Range<usize>,
    rows: Range<usize>,
) -> HostTensor {
    let (_, cols) = t.matrix_dims();
    let size = t.precision.bytes();
    let mut out = HostTensor {
        shape,
        layout: t.layout,
        precision: t.precision,
        bytes: Vec::new(),
    };
    out.bytes = vec![0; out.len() * size];
    for (o_new, o) in outer.enumerate() {
        for (r_new, r) in rows.clone().enumerate() {
            for c in 0..cols {
                let from = t.offset(o, r, c) * size;
                let to = out.offset(o_new, r_new, c) * size;
                out.bytes[to..to + size].copy_from_slice(&t.bytes[from..from + size]);
            }
        }
    }
    out
}

fn matmul(p: &MatmulProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (a, b) = (&inputs[0], &inputs[1]);
    let entry = p.batch - 1;
    let b_alone = if p.b_broadcast {
        b.clone()
    } else {
        gather(b, vec![1, p.k, p.n], entry..p.batch, 0..p.k)
    };
    let mut ranges = row_ranges(p.m);
    if p.batch > 1 {
        ranges.push(0..p.m);
    }
    ranges
        .into_iter()
        .map(|rows| {
            let sub = MatmulProblem {
                batch: 1,
                m: rows.len(),
                b_broadcast: false,
                ..*p
            };
            SubLaunch {
                what: format!(
                    "a launch of {} of batch entry {entry} alone (batch = 1, m = {})",
                    span_name("row", &rows),
                    sub.m
                ),
                problem: Problem::Matmul(sub),
                inputs: vec![
                    gather(a, vec![1, sub.m, p.k], entry..p.batch, rows.clone()),
                    b_alone.clone(),
                ],
                spans: vec![(0, (entry * p.m + rows.start) * p.n, sub.m * p.n)],
            }
        })
        .collect()
}

fn attention(p: &AttentionProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
    let mut subs = Vec::new();
    if p.batch > 1 {
        let entry = p.batch - 1;
        let sub = AttentionProblem { batch: 1, ..*p };
        let alone = |t: &HostTensor, heads: usize, rows: usize| {
            let mut shape = t.shape.clone();
            shape[0] = 1;
            gather(t, shape, entry * heads..(entry + 1) * heads, 0..rows)
        };
        let per_entry = p.heads_q * p.len_q * p.d_v;
        subs.push(SubLaunch {
            what: format!("a launch of batch entry {entry} alone (batch = 1)"),
            problem: Problem::Attention(sub),
            inputs: vec![
                alone(q, p.heads_q, p.len_q),
                alone(k, p.heads_kv, p.len_kv),
                alone(v, p.heads_kv, p.len_kv),
            ],
            spans: vec![(0, entry * per_entry, per_entry)],
        });
    }
    for rows in row_ranges(p.len_q) {
        let sub = AttentionProblem {
            len_q: rows.len(),
            ..*p
        };
        let matrices = p.batch * p.heads_q;
        subs.push(SubLaunch {
            what: format!(
                "a launch of {} alone (len_q = {}, same positions)",
                span_name("query", &rows),
                sub.len_q
            ),
            problem: Problem::Attention(sub),
            inputs: vec![
                gather(q, sub.q_shape(), 0..matrices, rows.clone()),
                k.clone(),
                v.clone(),
            ],
            spans: (0..matrices)
                .map(|bh| {
                    let full = (bh * p.len_q + rows.start) * p.d_v;
                    (bh * sub.len_q * p.d_v, full, sub.len_q * p.d_v)
                })
                .collect(),
        });
    }
    subs
}

fn quant_matmul(p: &QuantMatmulProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (a, w) = (&inputs[0], &inputs[1]);
    row_ranges(p.m)
        .into_iter()
        .filter_map(|rows| {
            let sub = QuantMatmulProblem {
                m: rows.len(),
                ..*p
            };
            let a_rows = match p.activations() {
                None => gather(a, vec![sub.m, p.k], 0..1, rows.clone()),
                Some(format) => {
                    let bytes = format.select_rows(&a.bytes, p.m, p.k, rows.clone())?;
                    HostTensor {
                        shape: vec![bytes.len()],
                        bytes,
                        ..a.clone()
                    }
                }
            };
            Some(SubLaunch {
                what: format!(
                    "a launch of {} alone (m = {})",
                    span_name("row", &rows),
                    sub.m
                ),
                problem: Problem::QuantMatmul(sub),
                inputs: vec![a_rows, w.clone()],
                spans: vec![(0, rows.start * p.n, sub.m * p.n)],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_reference::attention::attention as oracle_attention;
    use crosscheck_reference::matmul::matmul as oracle_matmul;
    use crosscheck_spec::{Layout, Precision};

    fn numbered(shape: Vec<usize>, layout: Layout) -> HostTensor {
        let len: usize = shape.iter().product();
        let values: Vec<f32> = (0..len).map(|i| (i % 13) as f32 - 6.0).collect();
        HostTensor {
            shape,
            layout,
            precision: Precision::F32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// Every sub-launch's oracle output equals the full oracle output on its spans.
    fn assert_spans_agree(
        full: &[f64],
        subs: &[SubLaunch],
        oracle: impl Fn(&SubLaunch) -> Vec<f64>,
    ) {
        assert!(!subs.is_empty());
        for sub in subs {
            let part = oracle(sub);
            for &(from, to, len) in &sub.spans {
                assert_eq!(part[from..from + len], full[to..to + len], "{}", sub.what);
            }
        }
    }

    #[test]
    fn matmul_rows_alone_compute_the_same_rows() {
        for (a_layout, b_broadcast) in [(Layout::ColMajor, false), (Layout::RowMajor, true)] {
            let p = MatmulProblem {
                batch: 2,
                m: 5,
                n: 3,
                k: 4,
                a_layout,
                b_layout: Layout::ColMajor,
                b_broadcast,
            };
            let inputs = vec![
                numbered(p.a_shape(), p.a_layout),
                numbered(p.b_shape(), p.b_layout),
            ];
            let subs = sub_launches(&Problem::Matmul(p), &inputs);
            assert_eq!(subs.len(), 3);
            assert_spans_agree(
                &oracle_matmul(&p, &inputs[0], &inputs[1]).values,
                &subs,
                |s| {
                    let Problem::Matmul(sp) = s.problem else {
                        unreachable!()
                    };
                    oracle_matmul(&sp, &s.inputs[0], &s.inputs[1]).values
                },
            );
        }
    }

    #[test]
    fn attention_entries_and_last_queries_alone_compute_the_same_rows() {
        let p = AttentionProblem {
            batch: 2,
            heads_q: 4,
            heads_kv: 2,
            len_q: 5,
            len_kv: 9,
            d_qk: 3,
            d_v: 2,
            causal: true,
            window: Some(4),
            scale_bits: None,
        };
        let inputs = vec![
            numbered(p.q_shape(), Layout::RowMajor),
            numbered(p.k_shape(), Layout::RowMajor),
            numbered(p.v_shape(), Layout::RowMajor),
        ];
        let subs = sub_launches(&Problem::Attention(p), &inputs);
        assert_eq!(subs.len(), 3);
        let full = oracle_attention(&p, &inputs[0], &inputs[1], &inputs[2], |_| {});
        assert_spans_agree(&full, &subs, |s| {
            let Problem::Attention(sp) = s.problem else {
                unreachable!()
            };
            oracle_attention(&sp, &s.inputs[0], &s.inputs[1], &s.inputs[2], |_| {})
        });
    }
}
