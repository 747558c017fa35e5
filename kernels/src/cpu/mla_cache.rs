//! What the CPU MLA kernels share: reading the block table and cache lengths (checked against
//! the pool), decoding one cached token (dense, or FlashMLA's FP8 layout with the kernel's own
//! E4M3 conversion), the keys a query sees, and running a per-row function over every
//! (batch, head, query) row on rayon threads, writing O and the LSE.

use rayon::prelude::*;

use crosscheck_spec::{HostTensor, KernelError, MLA_FP8_TILE, MlaProblem};

use super::quant::e4m3;

/// The block table and cache lengths, validated: every length in 0..=blocks·page and every
/// table entry a live token needs inside the pool.
pub struct Cache<'a> {
    p: &'a MlaProblem,
    kv: &'a HostTensor,
    dense: Vec<f32>,
    table: Vec<usize>,
    /// Tokens per sequence.
    pub lens: Vec<usize>,
}

fn i32s(t: &HostTensor) -> Vec<i32> {
    t.bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl<'a> Cache<'a> {
    /// Reads the side inputs; a length or a live token's page outside its range is an error.
    pub fn new(
        p: &'a MlaProblem,
        kv: &'a HostTensor,
        table: &HostTensor,
        lens: &HostTensor,
    ) -> Result<Self, KernelError> {
        let bad = |what: String| KernelError::InvalidProblem(format!("mla: {what}"));
        let table = i32s(table);
        let lens = i32s(lens);
        let mut checked = Vec::with_capacity(lens.len());
        for (b, &len) in lens.iter().enumerate() {
            if len < 0 || len as usize > p.blocks * p.page {
                return Err(bad(format!("cache length {len} of sequence {b}")));
            }
            checked.push(len as usize);
            for block in 0..(len as usize).div_ceil(p.page) {
                let page = table[b * p.blocks + block];
                if page < 0 || page as usize >= p.pool() {
                    return Err(bad(format!("block table entry {page} outside the pool")));
                }
            }
        }
        Ok(Cache {
            p,
            kv,
            dense: if p.fp8 { Vec::new() } else { kv.to_f32() },
            table: table.iter().map(|&e| e.max(0) as usize).collect(),
            lens: checked,
        })
    }

    /// Token `t` of sequence `b` (t < its length), decoded into `out` (d_qk values).
    pub fn token(&self, b: usize, t: usize, out: &mut [f32]) {
        let p = self.p;
        let index = self.table[b * p.blocks + t / p.page] * p.page + t % p.page;
        if !p.fp8 {
            out.copy_from_slice(&self.dense[index * p.d_qk()..][..p.d_qk()]);
            return;
        }
        let bytes = &self.kv.bytes[index * p.fp8_token_bytes()..][..p.fp8_token_bytes()];
        decode_fp8_row(p.d_latent, bytes, out);
    }
}

/// Decodes one row of FlashMLA's FP8 layout into `out`: `d_latent` E4M3 codes (a multiple of
/// 128) times their tile's f32 scale, then `out.len() − d_latent` bf16 rope values. Shared by
/// the MLA and the sparse attention kernels.
pub fn decode_fp8_row(d_latent: usize, bytes: &[u8], out: &mut [f32]) {
    let (codes, rest) = bytes.split_at(d_latent);
    let (scales, rope) = rest.split_at(4 * d_latent / MLA_FP8_TILE);
    for (c, o) in out[..d_latent].iter_mut().enumerate() {
        let s = &scales[4 * (c / MLA_FP8_TILE)..][..4];
        *o = e4m3::to_f32(codes[c]) * f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    }
    for (o, r) in out[d_latent..].iter_mut().zip(rope.chunks_exact(2)) {
        *o = f32::from_bits(u32::from(u16::from_le_bytes([r[0], r[1]])) << 16);
    }
}

/// How many tokens query `i` of a sequence of `len` tokens sees: all, or with the causal mask
/// aligned to the end, those at positions ≤ i + len − seq_q.
pub fn visible(p: &MlaProblem, len: usize, i: usize) -> usize {
    if p.causal {
        (i as i64 + len as i64 - p.seq_q as i64 + 1).clamp(0, len as i64) as usize
    } else {
        len
    }
}

/// The score scale: the custom one, or 1/√d_qk in f32.
pub fn scale(p: &MlaProblem) -> f32 {
    p.custom_scale()
        .unwrap_or_else(|| 1.0 / (p.d_qk() as f32).sqrt())
}

/// Runs `row_fn(b, h, i, row)` for every row in parallel; `row` (d_latent + 1 values, zero on
/// entry) receives O and then the LSE. Rows that see no token get zeros and +∞ here.
pub fn for_each_row(
    p: &MlaProblem,
    cache: &Cache,
    row_fn: impl Fn(usize, usize, usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let width = p.d_latent + 1;
    let mut out = vec![0.0f32; p.batch * p.heads_q * p.seq_q * width];
    out.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
        let (i, h, b) = (
            r % p.seq_q,
            r / p.seq_q % p.heads_q,
            r / p.seq_q / p.heads_q,
        );
        if visible(p, cache.lens[b], i) == 0 {
            row[p.d_latent] = f32::INFINITY;
        } else {
            row_fn(b, h, i, row);
        }
    });
    out
}
