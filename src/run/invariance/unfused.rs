//! The unfused pipeline of a fused kernel: the same output computed step by step by other
//! kernels of the same backend (for a quantized matmul: dequantize the operands, then the
//! backend's naive f32 matmul; for a grouped GEMM: one matmul per expert; for the routed MoE
//! combination: one matmul per expert, then a matmul of each token's routing weights with its
//! slots' rows, gathered from those outputs). A fused kernel may declare that it gives the
//! pipeline's bits ([`crosscheck_spec::NumericContract::matches_unfused`]); otherwise a
//! difference is a note.

use crosscheck_spec::{HostTensor, KernelId, Layout, Precision, Problem};

/// Where part of a launch's output sits in the full output: (first element of the launch's
/// output, first element of the full output, elements).
pub type Span = (usize, usize, usize);

/// A pipeline of launches whose outputs, placed where `placed` says, are the fused kernel's
/// output.
#[derive(Debug, Clone)]
pub struct Unfused {
    /// What it computes, for reports: `dequantize/q8_0 then matmul/naive`.
    pub what: String,
    /// The launches, in order; each runs in the case's variant.
    pub steps: Vec<Step>,
    /// Which steps' outputs form the result: (step, spans of (first element of the step's
    /// output, first element of the full output, elements)).
    pub placed: Vec<(usize, Vec<Span>)>,
}

impl Unfused {
    /// A pipeline whose last step computes the whole output (`len` elements).
    pub fn ending_in_whole(what: String, steps: Vec<Step>, len: usize) -> Unfused {
        let last = steps.len() - 1;
        Unfused {
            what,
            steps,
            placed: vec![(last, vec![(0, 0, len)])],
        }
    }
}

/// One launch of a pipeline.
#[derive(Debug, Clone)]
pub struct Step {
    /// The kernel it runs.
    pub kernel: KernelId,
    /// Its problem.
    pub problem: Problem,
    /// Its inputs, in the problem's order.
    pub inputs: Vec<StepInput>,
}

/// Where a step's input comes from.
#[derive(Debug, Clone)]
pub enum StepInput {
    /// A tensor of the case (or cut from one).
    Tensor(HostTensor),
    /// The output of an earlier step, read as a tensor of this shape and layout.
    Output {
        /// Index of the earlier step.
        step: usize,
        /// Shape to read it as.
        shape: Vec<usize>,
        /// Layout to read it as.
        layout: Layout,
    },
    /// Pieces of earlier steps' outputs (or zeros) laid end to end, read as a tensor of this
    /// shape, layout and precision (the steps' output precision: every step runs in the case's
    /// variant).
    Assembled {
        /// The pieces, in order; their lengths add up to the shape's element count.
        pieces: Vec<Piece>,
        /// Shape to read it as.
        shape: Vec<usize>,
        /// Layout to read it as.
        layout: Layout,
        /// Precision of every piece.
        precision: Precision,
    },
}

/// Part of an [`StepInput::Assembled`] input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// `len` elements of step `step`'s output from element `first`.
    Output {
        /// Index of the earlier step.
        step: usize,
        /// First element.
        first: usize,
        /// Elements.
        len: usize,
    },
    /// `len` elements of +0 (all bits clear in every precision).
    Zeros(usize),
}

impl StepInput {
    /// The tensor, given the outputs (precision and raw bytes) of the steps run so far.
    pub fn resolve(&self, outputs: &[(Precision, Vec<u8>)]) -> HostTensor {
        match self {
            StepInput::Tensor(t) => t.clone(),
            StepInput::Output {
                step,
                shape,
                layout,
            } => HostTensor {
                shape: shape.clone(),
                layout: *layout,
                precision: outputs[*step].0,
                bytes: outputs[*step].1.clone(),
            },
            StepInput::Assembled {
                pieces,
                shape,
                layout,
                precision,
            } => {
                let size = precision.bytes();
                let mut bytes = Vec::with_capacity(shape.iter().product::<usize>() * size);
                for piece in pieces {
                    match *piece {
                        Piece::Output { step, first, len } => bytes.extend_from_slice(
                            &outputs[step].1[first * size..(first + len) * size],
                        ),
                        Piece::Zeros(len) => bytes.resize(bytes.len() + len * size, 0),
                    }
                }
                HostTensor {
                    shape: shape.clone(),
                    layout: *layout,
                    precision: *precision,
                    bytes,
                }
            }
        }
    }
}
