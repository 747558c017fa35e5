//! The MLA decode problem: absorbed multi-head latent attention over a paged KV cache, as
//! FlashMLA's `flash_mla_with_kvcache` computes it, returning O and the log-sum-exp.

use super::{InputSpec, ProblemKind, Storage, element_bytes};
use crate::{KernelError, Layout, Op, Precision, Variant};

/// Values of a latent tile that share one f32 scale in the FP8 KV-cache layout.
pub const MLA_FP8_TILE: usize = 128;

/// Absorbed MLA decode: for every (batch entry b, query head h, query i),
/// O = softmax(scale · q·Kᵀ + causal mask) · V and LSE = ln Σ_j exp(scale · q·k_j), where K is
/// the sequence's cached tokens (d_qk = d_latent + d_rope columns) and V is a view of the first
/// d_latent columns of the same rows. One latent head serves every query head (MQA).
///
/// Inputs, in order:
/// - `Q` [batch, heads_q, seq_q, d_qk] in the variant's precision (head-major, like attention;
///   FlashMLA's q is [batch, seq_q, heads_q, d_qk], the same thing when seq_q = 1).
/// - `KV`: the page pool, `pool()` pages of `page` tokens. Dense: [pool, page, d_qk] in the
///   variant's precision. FP8 (`fp8`): raw bytes, `fp8_token_bytes()` per token as FlashMLA's
///   FP8 cache stores it — d_latent E4M3 codes, then one little-endian f32 scale per 128 codes,
///   then d_rope bf16 rope values (little-endian).
/// - `block_table`: raw bytes, batch × `blocks` little-endian i32 page indices: token t of
///   sequence b lives in page table[b][t / page] at slot t % page.
/// - `cache_seqlens`: raw bytes, batch little-endian i32 lengths, each in 0..=blocks·page.
///
/// Only tokens t < cache_seqlens[b] are read; pages and slots past them may hold anything
/// (the harness fills them with NaN). The causal mask is aligned to the end: query i sits at
/// position i + len − seq_q and sees tokens t ≤ that position. A row that sees no token outputs
/// zeros and LSE = +∞ (FlashMLA's convention for such rows).
///
/// The output is f32 [batch, heads_q, seq_q, d_latent + 1]: columns 0..d_latent are O, column
/// d_latent is the natural-log LSE (FlashMLA's softmax_lse [batch, heads_q, seq_q]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MlaProblem {
    /// Sequences.
    pub batch: usize,
    /// Query heads (all read the one latent head).
    pub heads_q: usize,
    /// Queries per sequence (1 for plain decoding; more for speculative decoding).
    pub seq_q: usize,
    /// Latent width: V's width and the first columns of K (512 in DeepSeek V3).
    pub d_latent: usize,
    /// Rope width: the last columns of K (64 in DeepSeek V3; 0 allowed).
    pub d_rope: usize,
    /// Tokens per page (64 in FlashMLA).
    pub page: usize,
    /// Block-table entries per sequence: the longest sequence is blocks · page tokens.
    pub blocks: usize,
    /// Causal mask for seq_q > 1, aligned to the end.
    pub causal: bool,
    /// The FP8 KV-cache layout instead of a dense cache in the variant's precision.
    pub fp8: bool,
    /// A custom scale (f32 bits); `None` means 1/√d_qk.
    pub scale_bits: Option<u32>,
}

impl MlaProblem {
    /// Width of queries and keys: d_latent + d_rope.
    pub fn d_qk(&self) -> usize {
        self.d_latent + self.d_rope
    }

    /// Pages in the pool: one per block-table entry of every sequence, plus one spare page that
    /// no table names.
    pub fn pool(&self) -> usize {
        self.batch * self.blocks + 1
    }

    /// Bytes per token in the FP8 layout: codes, f32 scales, bf16 rope values.
    pub fn fp8_token_bytes(&self) -> usize {
        self.d_latent + 4 * self.d_latent.div_ceil(MLA_FP8_TILE) + 2 * self.d_rope
    }

    /// Shape of Q: [batch, heads_q, seq_q, d_qk].
    pub fn q_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_q, self.seq_q, self.d_qk()]
    }

    /// Shape of the KV input: [pool, page, d_qk], or its byte count for FP8.
    pub fn kv_shape(&self) -> Vec<usize> {
        if self.fp8 {
            vec![self.pool() * self.page * self.fp8_token_bytes()]
        } else {
            vec![self.pool(), self.page, self.d_qk()]
        }
    }

    /// Shape of the output: [batch, heads_q, seq_q, d_latent + 1] (the last column is the LSE).
    pub fn out_shape(&self) -> Vec<usize> {
        vec![self.batch, self.heads_q, self.seq_q, self.d_latent + 1]
    }

    /// The custom scale, if any.
    pub fn custom_scale(&self) -> Option<f32> {
        self.scale_bits.map(f32::from_bits)
    }

    /// Checks dimensions: all at least 1 (d_rope may be 0), a latent width that is a multiple of
    /// 128 for the FP8 layout, a finite custom scale, and sizes that fit in usize and i32.
    pub fn validate(&self) -> Result<(), KernelError> {
        let invalid = |what: String| Err(KernelError::InvalidProblem(format!("mla: {what}")));
        let dims = [
            ("batch", self.batch),
            ("heads_q", self.heads_q),
            ("seq_q", self.seq_q),
            ("d_latent", self.d_latent),
            ("page", self.page),
            ("blocks", self.blocks),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return invalid(format!("dimension {name} is 0"));
        }
        if self.fp8 && self.d_latent % MLA_FP8_TILE != 0 {
            return invalid(format!(
                "the FP8 layout needs d_latent a multiple of {MLA_FP8_TILE}, not {}",
                self.d_latent
            ));
        }
        if self.custom_scale().is_some_and(|s| !s.is_finite()) {
            return invalid(format!("scale {:?} is not finite", self.custom_scale()));
        }
        let tokens = self
            .batch
            .checked_mul(self.blocks)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(self.page));
        if tokens.is_none_or(|t| t > i32::MAX as usize) {
            return invalid("the page pool's token count does not fit in i32".into());
        }
        for shape in [self.q_shape(), self.kv_shape(), self.out_shape()] {
            element_bytes(&shape).ok_or_else(|| {
                KernelError::InvalidProblem(format!("mla {shape:?} overflows the address space"))
            })?;
        }
        Ok(())
    }
}

impl ProblemKind for MlaProblem {
    fn op(&self) -> Op {
        Op::Mla
    }

    fn validate(&self) -> Result<(), KernelError> {
        MlaProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let kv_storage = if self.fp8 {
            Storage::Fixed(Precision::U8)
        } else {
            Storage::Variant
        };
        vec![
            InputSpec::new("Q", self.q_shape(), Layout::RowMajor, Storage::Variant),
            InputSpec::new("KV", self.kv_shape(), Layout::RowMajor, kv_storage),
            InputSpec::bytes("block_table", self.batch * self.blocks * 4),
            InputSpec::bytes("cache_seqlens", self.batch * 4),
        ]
    }

    fn output_precision(&self, _variant: Variant) -> Precision {
        Precision::F32
    }

    fn output_shape(&self) -> Vec<usize> {
        self.out_shape()
    }

    fn work(&self) -> usize {
        [
            self.heads_q,
            self.seq_q,
            self.blocks * self.page,
            self.d_qk() + self.d_latent,
        ]
        .iter()
        .fold(self.batch, |acc, &d| acc.saturating_mul(d))
    }
}
