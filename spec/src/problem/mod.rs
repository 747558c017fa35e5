//! Problem descriptors: what a kernel is asked to compute, independent of the data. Each
//! problem type lives in its own file and says what it needs through [`ProblemKind`].

mod attention;
mod indexer;
mod matmul;
mod mla;
mod moe;
mod quant;
mod sparse;

pub use attention::AttentionProblem;
pub use indexer::SparseIndexerProblem;
pub use matmul::MatmulProblem;
pub use mla::{MLA_FP8_TILE, MlaProblem};
pub use moe::{
    DEEPGEMM_ALIGNMENT, Grouping, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem,
    Padding, b_layout_tag, fp8_weights_len, i32_le_bytes, i32_le_values, parse_b_layout,
};
pub use quant::DequantizeProblem;
pub use sparse::{INVALID_INDEX, SparseAttentionProblem};

use crate::{
    HostTensor, KernelError, Layout, Op, OutputBuffer, Precision, QuantMatmulProblem,
    QuantizeProblem, Variant,
};

/// Bytes of an f32 tensor of `shape`, if that fits in usize.
pub(crate) fn element_bytes(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d))
}

/// Any problem a kernel can be asked to solve. New op families add a variant here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A (batched) matrix product.
    Matmul(MatmulProblem),
    /// Scaled dot-product attention.
    Attention(AttentionProblem),
    /// Quantize an f32 matrix.
    Quantize(QuantizeProblem),
    /// Dequantize a quantized matrix.
    Dequantize(DequantizeProblem),
    /// Absorbed MLA decode over a paged KV cache.
    Mla(MlaProblem),
    /// Matmul with quantized weights.
    QuantMatmul(QuantMatmulProblem),
    /// Sparse top-k attention over per-query index lists.
    Sparse(SparseAttentionProblem),
    /// The sparse indexer's logits (DeepSeek Sparse Attention's lightning indexer).
    SparseIndexer(SparseIndexerProblem),
    /// MoE grouped GEMM, m-grouped contiguous layout.
    MoeContiguous(MoeContiguousProblem),
    /// MoE grouped GEMM, masked layout.
    MoeMasked(MoeMaskedProblem),
    /// MoE routed combination of top-k expert outputs.
    MoeRouted(MoeRoutedProblem),
}

/// How an input or output tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Storage {
    /// In the variant's storage precision.
    Variant,
    /// In this precision whatever the variant (f32 activations, raw quantized bytes).
    Fixed(Precision),
}

impl Storage {
    /// The precision under `variant`.
    pub fn precision(self, variant: Variant) -> Precision {
        match self {
            Storage::Variant => variant.precision,
            Storage::Fixed(p) => p,
        }
    }
}

/// What one input of a problem must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// Name in messages (`A`, `Q`, `W`, ...).
    pub name: &'static str,
    /// Shape.
    pub shape: Vec<usize>,
    /// Layout of the innermost matrix.
    pub layout: Layout,
    /// Storage precision.
    pub storage: Storage,
}

impl InputSpec {
    pub(crate) fn new(
        name: &'static str,
        shape: Vec<usize>,
        layout: Layout,
        storage: Storage,
    ) -> Self {
        InputSpec {
            name,
            shape,
            layout,
            storage,
        }
    }

    /// A tensor of `len` raw bytes.
    pub(crate) fn bytes(name: &'static str, len: usize) -> Self {
        InputSpec::new(
            name,
            vec![len],
            Layout::RowMajor,
            Storage::Fixed(Precision::U8),
        )
    }
}

/// What every problem type says about itself. A new problem type implements this and adds one
/// arm to [`Problem::kind`].
pub trait ProblemKind {
    /// The op family it belongs to.
    fn op(&self) -> Op;

    /// Checks the dimensions alone.
    fn validate(&self) -> Result<(), KernelError>;

    /// What each input must look like, in the order [`crate::Backend::run`] receives them.
    fn input_specs(&self) -> Vec<InputSpec>;

    /// Checks the contents of inputs that carry integers (index lists) once their shapes are
    /// known to match; none by default.
    fn validate_inputs(&self, inputs: &[&HostTensor]) -> Result<(), KernelError> {
        let _ = inputs;
        Ok(())
    }

    /// How the output is stored under `variant`.
    fn output_precision(&self, variant: Variant) -> Precision;

    /// Shape of the output (always row-major).
    fn output_shape(&self) -> Vec<usize>;

    /// Multiply-adds (or values) the problem needs: a size measure for showing the smallest
    /// failing case first.
    fn work(&self) -> usize;

    /// True when the kernel must leave some output elements as they were (never write them):
    /// the output buffer's prior contents are then part of the request (a process backend
    /// receives them), as DeepGEMM's out-parameter `d` is. False by default.
    fn leaves_outputs(&self) -> bool {
        false
    }
}

impl Problem {
    /// A dequantize problem for the matrix `p` describes.
    pub fn dequantize(p: QuantizeProblem) -> Problem {
        Problem::Dequantize(DequantizeProblem(p))
    }

    /// The problem inside, as what every problem type says about itself.
    pub fn kind(&self) -> &dyn ProblemKind {
        match self {
            Problem::Matmul(p) => p,
            Problem::Attention(p) => p,
            Problem::Quantize(p) => p,
            Problem::Dequantize(p) => p,
            Problem::QuantMatmul(p) => p,
            Problem::Sparse(p) => p,
            Problem::SparseIndexer(p) => p,
            Problem::Mla(p) => p,
            Problem::MoeContiguous(p) => p,
            Problem::MoeMasked(p) => p,
            Problem::MoeRouted(p) => p,
        }
    }

    /// The op family this problem belongs to.
    pub fn op(&self) -> Op {
        self.kind().op()
    }

    /// Checks the dimensions alone.
    pub fn validate(&self) -> Result<(), KernelError> {
        self.kind().validate()
    }

    /// What each input must look like, in the order [`crate::Backend::run`] receives them.
    pub fn input_specs(&self) -> Vec<InputSpec> {
        self.kind().input_specs()
    }

    /// How the output is stored under `variant`: raw bytes for quantize, f32 for dequantize,
    /// the variant's precision otherwise (quantized matmuls: f32, or bf16 in a bf16 variant).
    pub fn output_precision(&self, variant: Variant) -> Precision {
        self.kind().output_precision(variant)
    }

    /// Shape of the output (always row-major).
    pub fn output_shape(&self) -> Vec<usize> {
        self.kind().output_shape()
    }

    /// Multiply-adds the problem needs: a size measure for showing the smallest failing case first.
    pub fn work(&self) -> usize {
        self.kind().work()
    }

    /// True when the kernel must leave some output elements as they were
    /// ([`ProblemKind::leaves_outputs`]).
    pub fn leaves_outputs(&self) -> bool {
        self.kind().leaves_outputs()
    }

    /// Number of output elements.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Checks dimensions, then that `inputs` match the problem (count, shapes, layouts, precision,
    /// byte lengths, and the contents of integer inputs such as index lists) and that `output` holds the problem's output elements in the variant's
    /// precision. Every backend calls this before touching a device.
    pub fn validate_buffers(
        &self,
        variant: Variant,
        inputs: &[&HostTensor],
        output: &OutputBuffer,
    ) -> Result<(), KernelError> {
        self.validate()?;
        let out_precision = self.output_precision(variant);
        if output.len() != self.output_len() || output.precision() != out_precision {
            return Err(KernelError::InvalidProblem(format!(
                "output buffer holds {} {} elements, the problem needs {} {}",
                output.len(),
                output.precision(),
                self.output_len(),
                out_precision
            )));
        }
        let specs = self.input_specs();
        if inputs.len() != specs.len() {
            return Err(KernelError::InvalidProblem(format!(
                "{} expects {} inputs, got {}",
                self.op(),
                specs.len(),
                inputs.len()
            )));
        }
        for (spec, t) in specs.iter().zip(inputs) {
            let problem =
                |what: String| KernelError::InvalidProblem(format!("input {}: {what}", spec.name));
            if t.shape != spec.shape {
                return Err(problem(format!(
                    "shape {:?} but the problem needs {:?}",
                    t.shape, spec.shape
                )));
            }
            if t.layout != spec.layout {
                return Err(problem(format!(
                    "layout {:?} but the problem says {:?}",
                    t.layout, spec.layout
                )));
            }
            let precision = spec.storage.precision(variant);
            if t.precision != precision {
                return Err(problem(format!(
                    "stored as {} but the problem needs {precision}",
                    t.precision
                )));
            }
            let want = t.len() * t.precision.bytes();
            if t.bytes.len() != want {
                return Err(problem(format!(
                    "{} bytes but {:?} in {} needs {want}",
                    t.bytes.len(),
                    spec.shape,
                    t.precision
                )));
            }
        }
        self.kind().validate_inputs(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Precision;

    fn problem() -> MatmulProblem {
        MatmulProblem {
            batch: 2,
            m: 3,
            n: 4,
            k: 5,
            a_layout: Layout::RowMajor,
            b_layout: Layout::ColMajor,
            b_broadcast: true,
        }
    }

    fn tensor(shape: Vec<usize>, layout: Layout) -> HostTensor {
        let n: usize = shape.iter().product();
        HostTensor {
            shape,
            layout,
            precision: Precision::F32,
            bytes: vec![0; n * 4],
        }
    }

    #[test]
    fn zero_dimensions_are_rejected() {
        let p = MatmulProblem { k: 0, ..problem() };
        assert!(matches!(p.validate(), Err(KernelError::InvalidProblem(m)) if m.contains('k')));
    }

    fn attention() -> AttentionProblem {
        AttentionProblem {
            batch: 1,
            heads_q: 8,
            heads_kv: 2,
            len_q: 3,
            len_kv: 7,
            d_qk: 192,
            d_v: 128,
            causal: true,
            window: None,
            scale_bits: None,
        }
    }

    #[test]
    fn gqa_maps_query_heads_to_kv_groups() {
        let p = attention();
        let groups: Vec<usize> = (0..8).map(|h| p.kv_head(h)).collect();
        assert_eq!(groups, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(AttentionProblem { heads_kv: 1, ..p }.kv_head(7), 0);
    }

    #[test]
    fn attention_problems_are_validated() {
        assert!(attention().validate().is_ok());
        let bad = [
            AttentionProblem {
                heads_kv: 3,
                ..attention()
            },
            AttentionProblem {
                len_kv: 0,
                ..attention()
            },
            AttentionProblem {
                window: Some(0),
                ..attention()
            },
            AttentionProblem {
                scale_bits: Some(f32::NAN.to_bits()),
                ..attention()
            },
        ];
        for p in bad {
            assert!(
                matches!(p.validate(), Err(KernelError::InvalidProblem(_))),
                "{p:?}"
            );
        }
        let shapes = Problem::Attention(attention()).input_specs();
        assert_eq!(shapes[2].shape, vec![1, 2, 7, 128]);
        assert_eq!(
            Problem::Attention(attention()).output_shape(),
            vec![1, 8, 3, 128]
        );
    }

    #[test]
    fn broadcast_b_has_one_matrix() {
        assert_eq!(problem().b_shape(), vec![1, 5, 4]);
    }

    #[test]
    fn inputs_are_checked_against_the_problem() {
        let p = Problem::Matmul(problem());
        let v = Variant::portable(Precision::F32);
        let a = tensor(vec![2, 3, 5], Layout::RowMajor);
        let b = tensor(vec![1, 5, 4], Layout::ColMajor);
        let out = OutputBuffer::new(Precision::F32, 24, 0);
        assert!(p.validate_buffers(v, &[&a, &b], &out).is_ok());
        let mut short = b.clone();
        short.bytes.pop();
        assert!(p.validate_buffers(v, &[&a, &short], &out).is_err());
        let wrong_layout = tensor(vec![1, 5, 4], Layout::RowMajor);
        assert!(p.validate_buffers(v, &[&a, &wrong_layout], &out).is_err());
        assert!(p.validate_buffers(v, &[&a], &out).is_err());
        let f16 = Variant::portable(Precision::F16);
        let f16_out = OutputBuffer::new(Precision::F16, 24, 0);
        assert!(p.validate_buffers(f16, &[&a, &b], &f16_out).is_err());
        let short_out = OutputBuffer::new(Precision::F32, 23, 0);
        assert!(p.validate_buffers(v, &[&a, &b], &short_out).is_err());
        assert!(p.validate_buffers(v, &[&a, &b], &f16_out).is_err());
    }
}
