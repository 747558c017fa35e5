//! What the quantized problems (defined with their formats in `crate::quant`) need as inputs and
//! give as outputs.

use super::{InputSpec, ProblemKind, Storage};
use crate::{KernelError, Layout, Op, Precision, QuantMatmulProblem, QuantizeProblem, Variant};

/// A dequantize problem: the same matrix description as quantizing it, read the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DequantizeProblem(pub QuantizeProblem);

impl std::ops::Deref for DequantizeProblem {
    type Target = QuantizeProblem;

    fn deref(&self) -> &QuantizeProblem {
        &self.0
    }
}

/// f32 values, row-major.
fn f32_input(name: &'static str, shape: Vec<usize>) -> InputSpec {
    InputSpec::new(
        name,
        shape,
        Layout::RowMajor,
        Storage::Fixed(Precision::F32),
    )
}

impl ProblemKind for QuantizeProblem {
    fn op(&self) -> Op {
        Op::Quantize
    }

    fn validate(&self) -> Result<(), KernelError> {
        QuantizeProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        vec![f32_input("X", vec![self.rows, self.cols])]
    }

    fn output_precision(&self, _: Variant) -> Precision {
        Precision::U8
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.encoded_len()]
    }

    fn work(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }
}

impl ProblemKind for DequantizeProblem {
    fn op(&self) -> Op {
        Op::Dequantize
    }

    fn validate(&self) -> Result<(), KernelError> {
        self.0.validate()
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        vec![InputSpec::bytes("Q", self.encoded_len())]
    }

    fn output_precision(&self, _: Variant) -> Precision {
        Precision::F32
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.rows, self.cols]
    }

    fn work(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }
}

impl ProblemKind for QuantMatmulProblem {
    fn op(&self) -> Op {
        Op::QuantMatmul
    }

    fn validate(&self) -> Result<(), KernelError> {
        QuantMatmulProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let a = match self.activations() {
            // Unquantized activations are stored in the variant's precision (f32 or bf16).
            None => InputSpec::new(
                "A",
                vec![self.m, self.k],
                Layout::RowMajor,
                Storage::Variant,
            ),
            Some(format) => InputSpec::bytes("A", format.encoded_len(self.m, self.k)),
        };
        vec![
            a,
            InputSpec::bytes("W", self.weights.encoded_len(self.n, self.k)),
        ]
    }

    /// C in the variant's precision: f32, or bf16 in the bf16 variant (as W4A16 GEMMs write it).
    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.m, self.n]
    }

    fn work(&self) -> usize {
        self.m.saturating_mul(self.n).saturating_mul(self.k)
    }
}
