//! The KV values both CPU sparse attention kernels read: the stored floats, or FlashMLA's FP8
//! KV-cache rows (the MLA family's layout, decoded by its shared row decoder) dequantized once
//! up front into f32 — E4M3 code × the 128-slice's f32 scale, then the bf16 rope values.

use crosscheck_spec::{HostTensor, SparseAttentionProblem};

use super::mla_cache::decode_fp8_row;

/// KV as f32, [len_kv, heads_kv, d_qk] row-major, whatever its layout.
pub fn values(p: &SparseAttentionProblem, kv: &HostTensor) -> Vec<f32> {
    if !p.fp8 {
        return kv.to_f32();
    }
    let mut out = vec![0.0f32; p.len_kv * p.heads_kv * p.d_qk];
    for (row, bytes) in out
        .chunks_exact_mut(p.d_qk)
        .zip(kv.bytes.chunks_exact(p.fp8_token_bytes()))
    {
        decode_fp8_row(p.d_v, bytes, row);
    }
    out
}
