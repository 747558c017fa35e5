//! Smaller launches that compute part of a case's output again (each op family says which:
//! one matmul row alone, the second half of the rows, one batch entry alone, the last query
//! alone). Each keeps the exact stored inputs of the rows it computes, so its bits can be
//! compared with the full launch's.

use std::ops::Range;

use crosscheck_spec::{HostTensor, NumericContract, Problem};

/// The promise a smaller launch checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariance {
    /// Rows do not depend on the other rows of the launch ([`NumericContract::batch_invariant`]).
    Batch,
    /// A chunk of a prefill, with the keys up to its end, gives one shot's bits
    /// ([`NumericContract::chunk_invariant`]).
    ChunkedPrefill,
    /// A decode row in a launch with more keys it cannot see (a split-KV kernel's split count
    /// changes) gives the same bits ([`NumericContract::split_invariant`]).
    SplitCount,
}

impl Invariance {
    /// Whether `contract` promises it.
    pub fn promised(self, contract: &NumericContract) -> bool {
        match self {
            Invariance::Batch => contract.batch_invariant,
            Invariance::ChunkedPrefill => contract.chunk_invariant,
            Invariance::SplitCount => contract.split_invariant,
        }
    }

    /// Its name in reports: `batch-invariant`.
    pub fn name(self) -> &'static str {
        match self {
            Invariance::Batch => "batch-invariant",
            Invariance::ChunkedPrefill => "chunk-invariant",
            Invariance::SplitCount => "split-invariant",
        }
    }
}

/// A launch computing part of a case's output again.
#[derive(Debug, Clone)]
pub struct SubLaunch {
    /// The promise it checks.
    pub checks: Invariance,
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
    crate::ops::of(problem).sub_launches(problem, inputs)
}

/// Row ranges worth recomputing out of `rows`: the last row alone, and the second half.
pub(crate) fn row_ranges(rows: usize) -> Vec<Range<usize>> {
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
pub(crate) fn span_name(noun: &str, range: &Range<usize>) -> String {
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
pub(crate) fn gather(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_reference::attention::attention as oracle_attention;
    use crosscheck_reference::matmul::matmul as oracle_matmul;
    use crosscheck_spec::{AttentionProblem, Layout, MatmulProblem, Precision};

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
    fn attention_entries_last_queries_and_prefill_chunks_compute_the_same_rows() {
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
        assert_eq!(subs.len(), 4);
        assert_eq!(subs[3].checks, Invariance::ChunkedPrefill);
        assert_eq!(
            subs[3].inputs[1].shape,
            vec![2, 2, 6, 3],
            "keys up to query 1's position"
        );
        let full = oracle_attention(&p, &inputs[0], &inputs[1], &inputs[2], |_| {});
        assert_spans_agree(&full, &subs, |s| {
            let Problem::Attention(sp) = s.problem else {
                unreachable!()
            };
            oracle_attention(&sp, &s.inputs[0], &s.inputs[1], &s.inputs[2], |_| {})
        });
    }
}
