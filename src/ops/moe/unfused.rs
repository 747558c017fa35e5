//! A grouped GEMM's unfused pipeline: one `matmul/naive` per expert over its rows, on the same
//! backend and variant, placed where the grouped kernel writes them — what a port that loops
//! over experts instead of launching the grouped kernel computes. Rows no expert owns (padding,
//! rows past `masked_m`) are not placed, so they are not compared.
//!
//! The routed combination adds a step: one `matmul/naive` per expert over the tokens routed to
//! it (in slot order), then a batched `matmul/naive` with one batch entry per token, [1, top_k]
//! routing weights times [top_k, n] slot rows gathered from the experts' outputs
//! ([`Piece`]s). That matmul sums w_j·d_j over the slots in order in f32 from +0, which is the
//! weighted combination itself, so no kernel is needed that the backend does not already have.
//! A dropped slot (id −1) gets weight 0 and a row of +0: its product is +0, and adding +0 to
//! a sum that started at +0 changes no bit (the sum is never −0), exactly as skipping it.
//! The routed pipeline exists for f32 operands only: in f16 and bf16 each step's output is
//! rounded to the variant and the routing weights would be too, where a fused kernel keeps the
//! f32 dot products, so the two compute different things by construction.

use crosscheck_reference::moe::{contiguous_rows, routes};
use crosscheck_spec::{
    HostTensor, KernelId, Layout, MatmulProblem, MoeContiguousProblem, MoeMaskedProblem,
    MoeRoutedProblem, Op, Precision, Problem, i32_le_values,
};

use crate::run::invariance::{Piece, Span, Step, StepInput, Unfused, gather};

/// What every grouped pipeline computes, for reports.
const PER_EXPERT: &str = "one matmul/naive per expert";

/// A `matmul/naive` step of `rows` × `p.k` activations times one expert's k × n weights.
fn expert_step(a: HostTensor, b: HostTensor, rows: usize, n: usize, k: usize) -> Step {
    let matmul = MatmulProblem {
        batch: 1,
        m: rows,
        n,
        k,
        a_layout: Layout::RowMajor,
        b_layout: b.layout,
        b_broadcast: false,
    };
    Step {
        kernel: KernelId::fixed(Op::Matmul, "naive"),
        problem: Problem::Matmul(matmul),
        inputs: vec![StepInput::Tensor(a), StepInput::Tensor(b)],
    }
}

/// Expert `e`'s k × n weights of B ([experts, k, n] in its layout), as [1, k, n].
fn expert_weights(b: &HostTensor, e: usize, k: usize, n: usize) -> HostTensor {
    gather(b, vec![1, k, n], e..e + 1, 0..k)
}

/// Rows `rows` of a row-major matrix `k` wide, as [1, rows, k].
fn rows_of(t: &HostTensor, k: usize, rows: &[usize]) -> HostTensor {
    let size = t.precision.bytes() * k;
    let mut bytes = Vec::with_capacity(rows.len() * size);
    for &r in rows {
        bytes.extend_from_slice(&t.bytes[r * size..(r + 1) * size]);
    }
    HostTensor {
        shape: vec![1, rows.len(), k],
        layout: Layout::RowMajor,
        precision: t.precision,
        bytes,
    }
}

/// Spans placing rows `rows` (increasing) of a step's output, n wide, where they sit in the full
/// output: one span per run of consecutive rows.
fn row_spans(rows: &[usize], n: usize) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for (i, &r) in rows.iter().enumerate() {
        match spans.last_mut() {
            Some((_, to, len)) if *to + *len == r * n => *len += n,
            _ => spans.push((i * n, r * n, n)),
        }
    }
    spans
}

/// The per-expert pipeline for `p` on the case's `inputs` (A, B, masked_m); `None` for FP8
/// operands (no dense matmul reads them) or when no expert has a valid row.
pub fn masked(p: &MoeMaskedProblem, inputs: &[HostTensor]) -> Option<Unfused> {
    if p.fp8 {
        return None;
    }
    let (a, b) = (&inputs[0], &inputs[1]);
    let counts = i32_le_values(&inputs[2].bytes);
    let mut steps = Vec::new();
    let mut placed = Vec::new();
    for (e, &count) in counts.iter().enumerate() {
        let Some(rows) = usize::try_from(count).ok().filter(|&r| r > 0) else {
            continue; // an expert with no valid row has nothing to compare
        };
        let rows = rows.min(p.max_m);
        let a_shape = vec![1, rows, p.k];
        placed.push((steps.len(), vec![(0, e * p.max_m * p.n, rows * p.n)]));
        steps.push(expert_step(
            gather(a, a_shape, e..e + 1, 0..rows),
            expert_weights(b, e, p.k, p.n),
            rows,
            p.n,
            p.k,
        ));
    }
    (!steps.is_empty()).then(|| Unfused {
        what: PER_EXPERT.into(),
        steps,
        placed,
    })
}

/// The per-expert pipeline for `p` on the case's `inputs` (A, B, grouping): each expert's rows
/// gathered (a segment, or several if its `m_indices` name it more than once), one matmul, its
/// rows placed back; padding rows are left out. `None` for FP8 operands, malformed metadata or
/// when every row is padding.
pub fn contiguous(p: &MoeContiguousProblem, inputs: &[HostTensor]) -> Option<Unfused> {
    if p.fp8 {
        return None;
    }
    let (a, b) = (&inputs[0], &inputs[1]);
    let owners = contiguous_rows(p, &inputs[2].bytes).ok()?;
    let mut steps = Vec::new();
    let mut placed = Vec::new();
    for e in 0..p.experts {
        let rows: Vec<usize> = (0..p.m).filter(|&r| owners[r] == Some(e)).collect();
        if rows.is_empty() {
            continue;
        }
        placed.push((steps.len(), row_spans(&rows, p.n)));
        steps.push(expert_step(
            rows_of(a, p.k, &rows),
            expert_weights(b, e, p.k, p.n),
            rows.len(),
            p.n,
            p.k,
        ));
    }
    (!steps.is_empty()).then(|| Unfused {
        what: PER_EXPERT.into(),
        steps,
        placed,
    })
}

/// The routed pipeline for `p` on the case's `inputs` (X, W, topk_ids, topk_weights): one
/// matmul per expert over its slots' tokens, then the weighted combination as a batched matmul
/// (see the module comment). `None` for FP8 operands, operands other than f32 or malformed
/// metadata.
pub fn routed(p: &MoeRoutedProblem, inputs: &[HostTensor]) -> Option<Unfused> {
    let (x, w) = (&inputs[0], &inputs[1]);
    if p.fp8 || x.precision != Precision::F32 || w.precision != Precision::F32 {
        return None;
    }
    let slots = routes(p, &inputs[2].bytes, &inputs[3]).ok()?;
    let n = p.n;
    let mut steps = Vec::new();
    // Per slot, where its expert product row sits: (step, row in that step's output).
    let mut slot_rows: Vec<Option<(usize, usize)>> = vec![None; slots.len()];
    for e in 0..p.experts {
        let mine: Vec<usize> = (0..slots.len())
            .filter(|&s| slots[s].0 == Some(e))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let tokens: Vec<usize> = mine.iter().map(|s| s / p.top_k).collect();
        for (i, &s) in mine.iter().enumerate() {
            slot_rows[s] = Some((steps.len(), i));
        }
        steps.push(expert_step(
            rows_of(x, p.k, &tokens),
            expert_weights(w, e, p.k, n),
            tokens.len(),
            n,
            p.k,
        ));
    }
    let pieces = slot_rows
        .iter()
        .map(|at| match *at {
            Some((step, row)) => Piece::Output {
                step,
                first: row * n,
                len: n,
            },
            None => Piece::Zeros(n),
        })
        .collect();
    let weights: Vec<f32> = slots
        .iter()
        .map(|&(e, weight)| if e.is_some() { weight } else { 0.0 })
        .collect();
    let combine = MatmulProblem {
        batch: p.tokens,
        m: 1,
        n,
        k: p.top_k,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    };
    steps.push(Step {
        kernel: KernelId::fixed(Op::Matmul, "naive"),
        problem: Problem::Matmul(combine),
        inputs: vec![
            StepInput::Tensor(HostTensor {
                shape: combine.a_shape(),
                layout: Layout::RowMajor,
                precision: Precision::F32,
                bytes: weights.iter().flat_map(|v| v.to_le_bytes()).collect(),
            }),
            StepInput::Assembled {
                pieces,
                shape: combine.b_shape(),
                layout: Layout::RowMajor,
                precision: Precision::F32,
            },
        ],
    });
    Some(Unfused::ending_in_whole(
        format!("{PER_EXPERT}, then matmul/naive of each token's routing weights and slot rows"),
        steps,
        p.tokens * n,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_spans_join_consecutive_rows() {
        assert_eq!(
            row_spans(&[2, 3, 4, 7, 9, 10], 5),
            vec![(0, 10, 15), (15, 35, 5), (20, 45, 10)]
        );
        assert!(row_spans(&[], 5).is_empty());
    }
}
