//! The attention problem: softmax(scale · Q·Kᵀ + mask) · V with GQA and end-aligned masks.

use super::{InputSpec, ProblemKind, Storage, element_bytes};
use crate::{KernelError, Layout, Op, Precision, Variant};

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

impl ProblemKind for AttentionProblem {
    fn op(&self) -> Op {
        Op::Attention
    }

    fn validate(&self) -> Result<(), KernelError> {
        AttentionProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let float = |name, shape| InputSpec::new(name, shape, Layout::RowMajor, Storage::Variant);
        vec![
            float("Q", self.q_shape()),
            float("K", self.k_shape()),
            float("V", self.v_shape()),
        ]
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        self.o_shape()
    }

    fn work(&self) -> usize {
        [self.heads_q, self.len_q, self.len_kv, self.d_qk + self.d_v]
            .iter()
            .fold(self.batch, |acc, &d| acc.saturating_mul(d))
    }
}
