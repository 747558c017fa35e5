//! The sparse top-k attention problem (DeepSeek Sparse Attention): every query attends to the
//! keys its index list names, as FlashMLA's `flash_mla_sparse_fwd` computes it.

use super::{InputSpec, MLA_FP8_TILE, ProblemKind, Storage, element_bytes};
use crate::{HostTensor, KernelError, Layout, Op, Precision, Variant};

/// The index that marks an unused slot of an index list.
pub const INVALID_INDEX: i32 = -1;

/// O = softmax(scale · q·K[list]ᵀ) · V[list] for every (query, query head), over the keys that
/// the query's index list names.
///
/// - Q is [len_q, heads_q, d_qk] and KV is [len_kv, heads_kv, d_qk], both row-major in the
///   variant's precision. As in multi-head latent attention, keys and values are one tensor: the
///   value of key j is the first d_v columns of its KV row (d_v ≤ d_qk).
/// - `indices` is [len_q, heads_kv, topk] little-endian i32, stored as a `Storage::Fixed(U8)`
///   byte tensor of len_q·heads_kv·topk·4 bytes. Query head h reads kv head
///   h / (heads_q / heads_kv) and that kv head's list.
/// - An entry −1 is an unused slot and is skipped. Any other entry must name a key
///   (0 ≤ j < len_kv); anything else makes the problem invalid ([`KernelError::InvalidProblem`]
///   from [`SparseAttentionProblem::indices`]).
/// - Every valid entry is one term of the softmax: a key listed twice counts twice, as FlashMLA's
///   gather does. No causal or other mask applies on top of the list.
/// - A row whose list holds no valid entry outputs zeros.
/// - The scale is 1/√d_qk unless `scale_bits` holds a custom f32 scale.
///
/// - With `fp8`, KV is FlashMLA's FP8 KV cache instead (the layout of the MLA family, [`crate::MlaProblem`]):
///   raw bytes, [`SparseAttentionProblem::fp8_token_bytes`] per (key, kv head) row — d_v E4M3
///   codes, one little-endian f32 scale per 128 codes, then d_qk − d_v bf16 rope values. The
///   value of a key is its dequantized first d_v columns (code × scale); d_v must be a multiple
///   of 128 (DeepSeek V3.2: 512 + 64, 656 bytes).
///
/// O is [len_q, heads_q, d_v] in the variant's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SparseAttentionProblem {
    /// Query tokens.
    pub len_q: usize,
    /// Key/value tokens.
    pub len_kv: usize,
    /// Query heads.
    pub heads_q: usize,
    /// Key/value heads (divides `heads_q`; 1 is MQA, as in DeepSeek's MLA).
    pub heads_kv: usize,
    /// Width of queries and keys.
    pub d_qk: usize,
    /// Width of values and outputs: the first `d_v` columns of a KV row.
    pub d_v: usize,
    /// Slots of each index list.
    pub topk: usize,
    /// A custom scale (f32 bits); `None` means 1/√d_qk.
    pub scale_bits: Option<u32>,
    /// KV in FlashMLA's FP8 cache layout instead of the variant's precision.
    pub fp8: bool,
}

impl SparseAttentionProblem {
    /// Shape of Q: [len_q, heads_q, d_qk].
    pub fn q_shape(&self) -> Vec<usize> {
        vec![self.len_q, self.heads_q, self.d_qk]
    }

    /// Shape of KV: [len_kv, heads_kv, d_qk], or its byte count in the FP8 layout.
    pub fn kv_shape(&self) -> Vec<usize> {
        if self.fp8 {
            vec![self.len_kv * self.heads_kv * self.fp8_token_bytes()]
        } else {
            vec![self.len_kv, self.heads_kv, self.d_qk]
        }
    }

    /// Bytes per KV row in the FP8 layout: d_v E4M3 codes, an f32 scale per 128 of them and
    /// d_qk − d_v bf16 rope values.
    pub fn fp8_token_bytes(&self) -> usize {
        self.d_v + 4 * self.d_v.div_ceil(MLA_FP8_TILE) + 2 * self.d_qk.saturating_sub(self.d_v)
    }

    /// Number of index entries: len_q · heads_kv · topk.
    pub fn index_count(&self) -> usize {
        self.len_q * self.heads_kv * self.topk
    }

    /// Shape of O: [len_q, heads_q, d_v].
    pub fn o_shape(&self) -> Vec<usize> {
        vec![self.len_q, self.heads_q, self.d_v]
    }

    /// The custom scale, if any.
    pub fn custom_scale(&self) -> Option<f32> {
        self.scale_bits.map(f32::from_bits)
    }

    /// The kv head that query head `h` reads.
    pub fn kv_head(&self, h: usize) -> usize {
        h / (self.heads_q / self.heads_kv)
    }

    /// The index list of query `i` and kv head `g` within [`SparseAttentionProblem::indices`]'s
    /// result.
    pub fn list<'a>(&self, indices: &'a [i32], i: usize, g: usize) -> &'a [i32] {
        &indices[(i * self.heads_kv + g) * self.topk..][..self.topk]
    }

    /// Decodes the index bytes (little-endian i32) and checks every entry: −1 or a key in
    /// 0..len_kv.
    pub fn indices(&self, bytes: &[u8]) -> Result<Vec<i32>, KernelError> {
        if bytes.len() != self.index_count() * 4 {
            return Err(KernelError::InvalidProblem(format!(
                "sparse: {} index bytes, the problem needs {}",
                bytes.len(),
                self.index_count() * 4
            )));
        }
        let out: Vec<i32> = bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let bad = out
            .iter()
            .position(|&j| j != INVALID_INDEX && (j < 0 || j as usize >= self.len_kv));
        if let Some(at) = bad {
            let (i, g, t) = (
                at / (self.heads_kv * self.topk),
                at / self.topk % self.heads_kv,
                at % self.topk,
            );
            return Err(KernelError::InvalidProblem(format!(
                "sparse: index [{i}, {g}, {t}] is {}, neither -1 (unused) nor a key in 0..{}",
                out[at], self.len_kv
            )));
        }
        Ok(out)
    }

    /// Checks dimensions: all at least 1, heads_kv divides heads_q, d_v ≤ d_qk, keys addressable
    /// by an i32, a finite custom scale, and element counts that fit in usize.
    pub fn validate(&self) -> Result<(), KernelError> {
        let invalid = |what: String| Err(KernelError::InvalidProblem(format!("sparse: {what}")));
        let dims = [
            ("len_q", self.len_q),
            ("len_kv", self.len_kv),
            ("heads_q", self.heads_q),
            ("heads_kv", self.heads_kv),
            ("d_qk", self.d_qk),
            ("d_v", self.d_v),
            ("topk", self.topk),
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
        if self.d_v > self.d_qk {
            return invalid(format!(
                "d_v {} exceeds d_qk {}: values are the first d_v columns of a KV row",
                self.d_v, self.d_qk
            ));
        }
        if self.fp8 && self.d_v % MLA_FP8_TILE != 0 {
            return invalid(format!(
                "the FP8 layout needs d_v a multiple of {MLA_FP8_TILE}, not {}",
                self.d_v
            ));
        }
        if self.len_kv > i32::MAX as usize {
            return invalid(format!("len_kv {} is not addressable by i32", self.len_kv));
        }
        if self.custom_scale().is_some_and(|s| !s.is_finite()) {
            return invalid(format!("scale {:?} is not finite", self.custom_scale()));
        }
        let indices = vec![self.len_q, self.heads_kv, self.topk];
        for shape in [self.q_shape(), self.kv_shape(), indices, self.o_shape()] {
            element_bytes(&shape).ok_or_else(|| {
                KernelError::InvalidProblem(format!("sparse {shape:?} overflows the address space"))
            })?;
        }
        Ok(())
    }
}

impl ProblemKind for SparseAttentionProblem {
    fn op(&self) -> Op {
        Op::Sparse
    }

    fn validate(&self) -> Result<(), KernelError> {
        SparseAttentionProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let float = |name, shape| InputSpec::new(name, shape, Layout::RowMajor, Storage::Variant);
        let kv = if self.fp8 {
            InputSpec::bytes("KV", self.kv_shape()[0])
        } else {
            float("KV", self.kv_shape())
        };
        vec![
            float("Q", self.q_shape()),
            kv,
            InputSpec::bytes("indices", self.index_count() * 4),
        ]
    }

    fn validate_inputs(&self, inputs: &[&HostTensor]) -> Result<(), KernelError> {
        self.indices(&inputs[2].bytes).map(|_| ())
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        self.o_shape()
    }

    fn work(&self) -> usize {
        [self.heads_q, self.topk, self.d_qk + self.d_v]
            .iter()
            .fold(self.len_q, |acc, &d| acc.saturating_mul(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem() -> SparseAttentionProblem {
        SparseAttentionProblem {
            len_q: 2,
            len_kv: 5,
            heads_q: 4,
            heads_kv: 2,
            d_qk: 8,
            d_v: 4,
            topk: 3,
            scale_bits: None,
            fp8: false,
        }
    }

    fn bytes(entries: &[i32]) -> Vec<u8> {
        entries.iter().flat_map(|j| j.to_le_bytes()).collect()
    }

    #[test]
    fn index_lists_accept_minus_one_and_keys_only() {
        let p = problem();
        let mut entries = vec![-1, 0, 4, 4, -1, -1, 2, 3, 1, -1, -1, -1];
        let decoded = p.indices(&bytes(&entries)).unwrap();
        assert_eq!(p.list(&decoded, 1, 0), &[2, 3, 1]);
        assert_eq!(p.kv_head(3), 1);
        for bad in [5, -2, i32::MIN] {
            entries[7] = bad;
            let err = p.indices(&bytes(&entries)).unwrap_err().to_string();
            assert!(
                err.contains("index [1, 0, 1]") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
        assert!(p.indices(&bytes(&entries[1..])).is_err());
    }

    #[test]
    fn the_fp8_layout_is_deepseeks_656_bytes() {
        let p = SparseAttentionProblem {
            d_qk: 576,
            d_v: 512,
            fp8: true,
            ..problem()
        };
        assert!(p.validate().is_ok());
        assert_eq!(p.fp8_token_bytes(), 656);
        assert_eq!(p.kv_shape(), vec![5 * 2 * 656]);
    }

    #[test]
    fn shapes_are_validated() {
        assert!(problem().validate().is_ok());
        for bad in [
            SparseAttentionProblem {
                topk: 0,
                ..problem()
            },
            SparseAttentionProblem {
                heads_kv: 3,
                ..problem()
            },
            SparseAttentionProblem {
                d_v: 9,
                ..problem()
            },
            SparseAttentionProblem {
                scale_bits: Some(f32::INFINITY.to_bits()),
                ..problem()
            },
            SparseAttentionProblem {
                fp8: true,
                ..problem()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
