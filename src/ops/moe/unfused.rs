//! A masked grouped GEMM's unfused pipeline: one `matmul/naive` per expert over its valid rows,
//! on the same backend and variant, placed where the grouped kernel writes them. What a port
//! that loops over experts instead of launching the grouped kernel computes.

use crosscheck_spec::{
    HostTensor, KernelId, Layout, MatmulProblem, MoeMaskedProblem, Op, Problem, i32_le_values,
};

use crate::run::invariance::{Step, StepInput, Unfused, gather};

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
        let matmul = MatmulProblem {
            batch: 1,
            m: rows,
            n: p.n,
            k: p.k,
            a_layout: Layout::RowMajor,
            b_layout: p.b_layout,
            b_broadcast: false,
        };
        placed.push((steps.len(), vec![(0, e * p.max_m * p.n, rows * p.n)]));
        steps.push(Step {
            kernel: KernelId::fixed(Op::Matmul, "naive"),
            problem: Problem::Matmul(matmul),
            inputs: vec![
                StepInput::Tensor(gather(a, matmul.a_shape(), e..e + 1, 0..rows)),
                StepInput::Tensor(gather(b, matmul.b_shape(), e..e + 1, 0..p.k)),
            ],
        });
    }
    (!steps.is_empty()).then(|| Unfused {
        what: "one matmul/naive per expert".into(),
        steps,
        placed,
    })
}
