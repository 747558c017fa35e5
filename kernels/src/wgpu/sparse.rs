//! Launch geometry, parameters and loop counts of the WGSL sparse attention kernels.

use crosscheck_spec::SparseAttentionProblem;

/// The WGSL declaration of [`Params`], prepended to every sparse attention kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    len_q: u32, len_kv: u32, heads_q: u32, heads_kv: u32,
    d_qk: u32, d_v: u32, topk: u32, default_scale: u32,
    scale: f32, d_latent: u32, token_bytes: u32, _pad: u32,
}
";

/// Lanes of a workgroup: both kernels take one (query, head) row per workgroup of 64.
pub const LANES: usize = 64;

/// Slots per tile of the flash kernel (its declared online-softmax schedule).
pub const FLASH_SLOT_TILE: usize = 64;

/// Output columns a flash lane holds in registers.
const FLASH_SLOTS: usize = 8;

/// Largest d_v the flash kernel holds in its per-lane output registers (8 columns a lane).
pub const FLASH_MAX_DV: usize = FLASH_SLOTS * LANES;

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
    /// Columns of a KV row in E4M3 in the FP8 layout (d_v; the MLA layout helper's name).
    d_latent: u32,
    /// Bytes per KV row of the FP8 layout (0 for dense KV).
    token_bytes: u32,
    pad: u32,
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
        d_latent: p.d_v as u32,
        token_bytes: if p.fp8 { p.fp8_token_bytes() as u32 } else { 0 },
        pad: 0,
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// Both kernels: one workgroup per (query, head).
pub fn grid(p: &SparseAttentionProblem) -> [usize; 3] {
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

/// Loop iterations one flash invocation runs, counting every loop of the shader as written: the
/// zeroed registers, then per tile of 64 slots its score (d_qk), three 6-step reductions and 8
/// column slots over the tile's slots, then the 8 slots out.
pub fn flash_loops(p: &SparseAttentionProblem) -> u64 {
    let tiles = (p.topk as u64).div_ceil(FLASH_SLOT_TILE as u64);
    let slots = FLASH_SLOTS as u64;
    let per_tile = 1 + p.d_qk as u64 + 18 + slots * (FLASH_SLOT_TILE as u64 + 1);
    tiles * per_tile + 2 * slots
}

/// The flash kernel needs no scratch memory.
pub fn no_scratch(_: &SparseAttentionProblem) -> Vec<u64> {
    Vec::new()
}
