//! A quantized matmul's unfused pipeline: dequantize the weights (and quantized activations)
//! with the backend's own dequantize kernel of the format family, then its naive f32 matmul
//! with W read as a column-major B. What a port that splits a fused kernel computes.

use crosscheck_spec::{
    HostTensor, KernelId, Layout, MatmulProblem, Op, Problem, QuantMatmulProblem, QuantizeProblem,
};

use crate::run::invariance::{Step, StepInput, Unfused};

/// The pipeline for `p` on the case's `inputs` (A, W).
pub fn pipeline(p: &QuantMatmulProblem, inputs: &[HostTensor]) -> Unfused {
    let dequantize = |format: crosscheck_spec::QuantFormat, rows, cols, tensor: &HostTensor| Step {
        kernel: KernelId::new(Op::Dequantize, format.family().name()),
        problem: Problem::dequantize(QuantizeProblem { format, rows, cols }),
        inputs: vec![StepInput::Tensor(tensor.clone())],
    };
    let mut steps = vec![dequantize(p.weights, p.n, p.k, &inputs[1])];
    let a = match p.activations() {
        Some(format) => {
            steps.push(dequantize(format, p.m, p.k, &inputs[0]));
            StepInput::Output {
                step: 1,
                shape: vec![1, p.m, p.k],
                layout: Layout::RowMajor,
            }
        }
        None => StepInput::Tensor(HostTensor {
            shape: vec![1, p.m, p.k],
            ..inputs[0].clone()
        }),
    };
    let matmul = MatmulProblem {
        batch: 1,
        m: p.m,
        n: p.n,
        k: p.k,
        a_layout: Layout::RowMajor,
        // W is n×k row-major: the same bytes are B (k×n) column-major.
        b_layout: Layout::ColMajor,
        b_broadcast: false,
    };
    let what = format!(
        "dequantize/{}{} then matmul/naive",
        p.weights.family().name(),
        p.activations().map_or(String::new(), |a| format!(
            " (and A by dequantize/{})",
            a.family().name()
        ))
    );
    steps.push(Step {
        kernel: KernelId::fixed(Op::Matmul, "naive"),
        problem: Problem::Matmul(matmul),
        inputs: vec![
            a,
            StepInput::Output {
                step: 0,
                shape: vec![1, p.k, p.n],
                layout: Layout::ColMajor,
            },
        ],
    });
    Unfused::ending_in_whole(what, steps, p.m * p.n)
}
