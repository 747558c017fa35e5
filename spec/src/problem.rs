//! Problem descriptors: what a kernel is asked to compute, independent of the data.

use crate::{
    HostTensor, KernelError, Layout, Op, OutputBuffer, Precision, QuantMatmulProblem,
    QuantizeProblem, Variant,
};

/// `C[b] = A[b] · B[b or 0]` for `b` in `0..batch`, with A m×k, B k×n and C m×n row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatmulProblem {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Columns of A, rows of B: the length of every dot product.
    pub k: usize,
    /// Layout of each m×k matrix A (column-major A is a transposed operand).
    pub a_layout: Layout,
    /// Layout of each k×n matrix B.
    pub b_layout: Layout,
    /// When true, B holds a single k×n matrix used by every batch entry.
    pub b_broadcast: bool,
}

impl MatmulProblem {
    /// Shape of the A operand: [batch, m, k].
    pub fn a_shape(&self) -> Vec<usize> {
        vec![self.batch, self.m, self.k]
    }

    /// Shape of the B operand: [batch or 1, k, n].
    pub fn b_shape(&self) -> Vec<usize> {
        vec![
            if self.b_broadcast { 1 } else { self.batch },
            self.k,
            self.n,
        ]
    }

    /// Shape of the output C: [batch, m, n], always row-major.
    pub fn c_shape(&self) -> Vec<usize> {
        vec![self.batch, self.m, self.n]
    }

    /// Checks the dimensions: every one must be at least 1 and element counts must fit in usize.
    pub fn validate(&self) -> Result<(), KernelError> {
        let dims = [
            ("batch", self.batch),
            ("m", self.m),
            ("n", self.n),
            ("k", self.k),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return Err(KernelError::InvalidProblem(format!(
                "matmul dimension {name} is 0"
            )));
        }
        for shape in [self.a_shape(), self.b_shape(), self.c_shape()] {
            element_bytes(&shape).ok_or_else(|| {
                KernelError::InvalidProblem(format!("matmul {self:?} overflows the address space"))
            })?;
        }
        Ok(())
    }
}

/// O = softmax(scale · Q·Kᵀ + mask) · V for every (batch, query head).
///
/// - Q is [batch, heads_q, len_q, d_qk], K is [batch, heads_kv, len_kv, d_qk], V is
///   [batch, heads_kv, len_kv, d_v] and O is [batch, heads_q, len_q, d_v], all row-major.
/// - GQA / MQA: heads_q is a multiple of heads_kv; query head h reads kv head
///   h / (heads_q / heads_kv).
/// - Masks are aligned to the end, as when decoding with a KV cache: query i sits at position
///   i + (len_kv − len_q). `causal` lets it see key j only if j ≤ that position; a `window` of w
///   additionally needs j > position − w (with or without `causal`).
/// - A query row that sees no key outputs zeros.
/// - The scale is 1/√d_qk unless `scale_bits` holds a custom f32 scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttentionProblem {
    /// Independent sequences.
    pub batch: usize,
    /// Query heads.
    pub heads_q: usize,
    /// Key/value heads (divides `heads_q`; 1 is MQA).
    pub heads_kv: usize,
    /// Query rows per head.
    pub len_q: usize,
    /// Keys (and values) per head.
    pub len_kv: usize,
    /// Width of queries and keys.
    pub d_qk: usize,
    /// Width of values and outputs.
    pub d_v: usize,
    /// Causal mask, aligned to the end.
    pub causal: bool,
    /// Sliding window: a query sees only the `w` positions ending at its own.
    pub window: Option<usize>,
    /// A custom scale (f32 bits); `None` means 1/√d_qk.
    pub scale_bits: Option<u32>,
}

impl AttentionProblem {
    /// Shape of Q: [batch, heads_q, len_q, d_qk].
    pub fn q_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_q, self.len_q, self.d_qk]
    }

    /// Shape of K: [batch, heads_kv, len_kv, d_qk].
    pub fn k_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_kv, self.len_kv, self.d_qk]
    }

    /// Shape of V: [batch, heads_kv, len_kv, d_v].
    pub fn v_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_kv, self.len_kv, self.d_v]
    }

    /// Shape of O: [batch, heads_q, len_q, d_v].
    pub fn o_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_q, self.len_q, self.d_v]
    }

    /// The custom scale, if any.
    pub fn custom_scale(&self) -> Option<f32> {
        self.scale_bits.map(f32::from_bits)
    }

    /// The kv head that query head `h` reads.
    pub fn kv_head(&self, h: usize) -> usize {
        h / (self.heads_q / self.heads_kv)
    }

    /// Checks dimensions: all at least 1, heads_kv divides heads_q, window at least 1, a finite
    /// custom scale, and element counts that fit in usize.
    pub fn validate(&self) -> Result<(), KernelError> {
        let invalid = |what: String| Err(KernelError::InvalidProblem(format!("attention: {what}")));
        let dims = [
            ("batch", self.batch),
            ("heads_q", self.heads_q),
            ("heads_kv", self.heads_kv),
            ("len_q", self.len_q),
            ("len_kv", self.len_kv),
            ("d_qk", self.d_qk),
            ("d_v", self.d_v),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return invalid(format!("dimension {name} is 0"));
        }
        if self.heads_q % self.heads_kv != 0 {
            return invalid(format!(
                "heads_q {} is not a multiple of heads_kv {}",
                self.heads_q, self.heads_kv
            ));
        }
        if self.window == Some(0) {
            return invalid("a window of 0 keys".into());
        }
        if self.custom_scale().is_some_and(|s| !s.is_finite()) {
            return invalid(format!("scale {:?} is not finite", self.custom_scale()));
        }
        for shape in [
            self.q_shape(),
            self.k_shape(),
            self.v_shape(),
            self.o_shape(),
        ] {
            element_bytes(&shape).ok_or_else(|| {
                KernelError::InvalidProblem(format!(
                    "attention {shape:?} overflows the address space"
                ))
            })?;
        }
        Ok(())
    }
}

/// Bytes of an f32 tensor of `shape`, if that fits in usize.
fn element_bytes(shape: &[usize]) -> Option<usize> {
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
    Dequantize(QuantizeProblem),
    /// Matmul with quantized weights.
    QuantMatmul(QuantMatmulProblem),
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
    fn new(name: &'static str, shape: Vec<usize>, layout: Layout, storage: Storage) -> Self {
        InputSpec {
            name,
            shape,
            layout,
            storage,
        }
    }

    /// A tensor of `len` raw bytes.
    fn bytes(name: &'static str, len: usize) -> Self {
        InputSpec::new(
            name,
            vec![len],
            Layout::RowMajor,
            Storage::Fixed(Precision::U8),
        )
    }
}

impl Problem {
    /// The op family this problem belongs to.
    pub fn op(&self) -> Op {
        match self {
            Problem::Matmul(_) => Op::Matmul,
            Problem::Attention(_) => Op::Attention,
            Problem::Quantize(_) => Op::Quantize,
            Problem::Dequantize(_) => Op::Dequantize,
            Problem::QuantMatmul(_) => Op::QuantMatmul,
        }
    }

    /// Checks the dimensions alone.
    pub fn validate(&self) -> Result<(), KernelError> {
        match self {
            Problem::Matmul(p) => p.validate(),
            Problem::Attention(p) => p.validate(),
            Problem::Quantize(p) | Problem::Dequantize(p) => p.validate(),
            Problem::QuantMatmul(p) => p.validate(),
        }
    }

    /// What each input must look like, in the order [`crate::Backend::run`] receives them.
    pub fn input_specs(&self) -> Vec<InputSpec> {
        let float = |name, shape, layout| InputSpec::new(name, shape, layout, Storage::Variant);
        let f32 = |name, shape| {
            InputSpec::new(
                name,
                shape,
                Layout::RowMajor,
                Storage::Fixed(Precision::F32),
            )
        };
        match self {
            Problem::Matmul(p) => vec![
                float("A", p.a_shape(), p.a_layout),
                float("B", p.b_shape(), p.b_layout),
            ],
            Problem::Attention(p) => vec![
                float("Q", p.q_shape(), Layout::RowMajor),
                float("K", p.k_shape(), Layout::RowMajor),
                float("V", p.v_shape(), Layout::RowMajor),
            ],
            Problem::Quantize(p) => vec![f32("X", vec![p.rows, p.cols])],
            Problem::Dequantize(p) => vec![InputSpec::bytes("Q", p.encoded_len())],
            Problem::QuantMatmul(p) => {
                let a = match p.activations() {
                    None => f32("A", vec![p.m, p.k]),
                    Some(format) => InputSpec::bytes("A", format.encoded_len(p.m, p.k)),
                };
                vec![a, InputSpec::bytes("W", p.weights.encoded_len(p.n, p.k))]
            }
        }
    }

    /// How the output is stored under `variant`: raw bytes for quantize, f32 for the other
    /// quantized ops, the variant's precision otherwise.
    pub fn output_precision(&self, variant: Variant) -> Precision {
        match self {
            Problem::Matmul(_) | Problem::Attention(_) => variant.precision,
            Problem::Quantize(_) => Precision::U8,
            Problem::Dequantize(_) | Problem::QuantMatmul(_) => Precision::F32,
        }
    }

    /// Shape of the output (always row-major).
    pub fn output_shape(&self) -> Vec<usize> {
        match self {
            Problem::Matmul(p) => p.c_shape(),
            Problem::Attention(p) => p.o_shape(),
            Problem::Quantize(p) => vec![p.encoded_len()],
            Problem::Dequantize(p) => vec![p.rows, p.cols],
            Problem::QuantMatmul(p) => vec![p.m, p.n],
        }
    }

    /// Multiply-adds the problem needs: a size measure for showing the smallest failing case first.
    pub fn work(&self) -> usize {
        match self {
            Problem::Matmul(p) => p
                .batch
                .saturating_mul(p.m)
                .saturating_mul(p.n)
                .saturating_mul(p.k),
            Problem::Attention(p) => [p.heads_q, p.len_q, p.len_kv, p.d_qk + p.d_v]
                .iter()
                .fold(p.batch, |acc, &d| acc.saturating_mul(d)),
            Problem::Quantize(p) | Problem::Dequantize(p) => p.rows.saturating_mul(p.cols),
            Problem::QuantMatmul(p) => p.m.saturating_mul(p.n).saturating_mul(p.k),
        }
    }

    /// Number of output elements.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Checks dimensions, then that `inputs` match the problem (count, shapes, layouts, precision,
    /// byte lengths) and that `output` holds the problem's output elements in the variant's
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
        Ok(())
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
