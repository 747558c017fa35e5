//! Launch geometry, parameters and loop counts of the WGSL sparse attention kernels.

use crosscheck_spec::SparseAttentionProblem;

/// The WGSL declaration of [`Params`], prepended to every sparse attention kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    len_q: u32, len_kv: u32, heads_q: u32, heads_kv: u32,
    d_qk: u32, d_v: u32, topk: u32, default_scale: u32,
    scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
}
";

/// The uniform block every sparse attention kernel reads as `p`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len_q: u32,
    len_kv: u32,
    heads_q: u32,
    heads_kv: u32,
    d_qk: u32,
    d_v: u32,
    topk: u32,
    /// 1 = the kernel computes 1/√d_qk itself; 0 = use `scale`.
    default_scale: u32,
    scale: f32,
    pad: [u32; 3],
}

/// Uniform bytes for `p` (the caller has checked that every count fits in u32).
pub fn params(p: &SparseAttentionProblem) -> Vec<u8> {
    let params = Params {
        len_q: p.len_q as u32,
        len_kv: p.len_kv as u32,
        heads_q: p.heads_q as u32,
        heads_kv: p.heads_kv as u32,
        d_qk: p.d_qk as u32,
        d_v: p.d_v as u32,
        topk: p.topk as u32,
        default_scale: p.custom_scale().is_none() as u32,
        scale: p.custom_scale().unwrap_or(0.0),
        pad: [0; 3],
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// Naive kernel: one workgroup per (query, head).
pub fn naive_grid(p: &SparseAttentionProblem) -> [usize; 3] {
    [p.len_q, p.heads_q, 1]
}

/// Loop iterations one naive invocation runs, counting every loop of the shader as written:
/// every 64th slot with its d_qk-long dot product, three 6-step reductions, the exponentials,
/// then every 64th output column (or zero store) over all slots.
pub fn naive_loops(p: &SparseAttentionProblem) -> u64 {
    let (slots, lanes) = (p.topk as u64, 64u64);
    slots.div_ceil(lanes) * (p.d_qk as u64 + 2) + (p.d_v as u64).div_ceil(lanes) * (slots + 2) + 18
}

/// The naive kernel's scratch: one f32 score per (row, slot).
pub fn naive_scratch(p: &SparseAttentionProblem) -> Vec<u64> {
    vec![(p.len_q * p.heads_q * p.topk) as u64 * 4]
}
