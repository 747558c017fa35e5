//! Launch geometry and parameters of the WGSL attention kernels.

use crosscheck_spec::AttentionProblem;

/// The WGSL declaration of [`Params`], prepended to every attention kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    batch: u32, heads_q: u32, heads_kv: u32, len_q: u32,
    len_kv: u32, d_qk: u32, d_v: u32, causal: u32,
    window: u32, default_scale: u32, scale: f32, _pad: u32,
}
";

/// Largest d_qk and d_v the flash kernel holds in private arrays.
pub const FLASH_MAX_HEAD_DIM: usize = 256;

/// Keys per tile in the flash kernel (its declared online-softmax schedule).
pub const FLASH_KEY_TILE: usize = 16;

/// The uniform block every attention kernel reads as `p`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    heads_q: u32,
    heads_kv: u32,
    len_q: u32,
    len_kv: u32,
    d_qk: u32,
    d_v: u32,
    causal: u32,
    /// 0 = no window.
    window: u32,
    /// 1 = the kernel computes 1/√d_qk itself; 0 = use `scale`.
    default_scale: u32,
    scale: f32,
    pad: u32,
}

/// Uniform bytes for `p` (the caller has checked that every count fits in u32).
pub fn params(p: &AttentionProblem) -> Vec<u8> {
    let params = Params {
        batch: p.batch as u32,
        heads_q: p.heads_q as u32,
        heads_kv: p.heads_kv as u32,
        len_q: p.len_q as u32,
        len_kv: p.len_kv as u32,
        d_qk: p.d_qk as u32,
        d_v: p.d_v as u32,
        causal: p.causal as u32,
        window: p.window.map_or(0, |w| w.min(u32::MAX as usize) as u32),
        default_scale: p.custom_scale().is_none() as u32,
        scale: p.custom_scale().unwrap_or(0.0),
        pad: 0,
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// Naive kernel: one workgroup per (query row, batch·head).
pub fn naive_grid(p: &AttentionProblem) -> Vec<[usize; 3]> {
    vec![[p.len_q, p.batch * p.heads_q, 1]]
}

/// Loop iterations one naive invocation runs, counting every loop of the shader as written:
/// scores for every 64th key, two 6-step reductions, exponentials, then every 64th output
/// column over all keys.
pub fn naive_loops(p: &AttentionProblem) -> u64 {
    let (keys, lanes) = (p.len_kv as u64, 64u64);
    keys.div_ceil(lanes) * (p.d_qk as u64 + 2) + (p.d_v as u64).div_ceil(lanes) * (keys + 1) + 14
}

/// Loop iterations one flash invocation runs, counting every loop of the shader as written:
/// the q row, then per tile of 16 keys its K chunks (loads and 16×8 vec4 dot steps), masking,
/// rescaling, weights and V chunks, then the output row.
pub fn flash_loops(p: &AttentionProblem) -> u64 {
    let (d_qk4, d_v4) = (p.d_qk.div_ceil(4) as u64, p.d_v.div_ceil(4) as u64);
    let tiles = p.len_kv.div_ceil(FLASH_KEY_TILE) as u64;
    let per_tile = 33 + d_qk4.div_ceil(8) * 165 + d_v4 + d_v4.div_ceil(8) * 157;
    5 * d_qk4 + tiles * per_tile + p.d_v as u64
}

/// The naive kernel's scratch: one f32 score per (row, key).
pub fn naive_scratch(p: &AttentionProblem) -> Vec<u64> {
    vec![(p.batch * p.heads_q * p.len_q * p.len_kv) as u64 * 4]
}

/// Flash kernel: 32 query rows per workgroup, one workgroup row per (batch, head).
pub fn flash_grid(p: &AttentionProblem) -> Vec<[usize; 3]> {
    vec![[p.len_q.div_ceil(32), p.batch * p.heads_q, 1]]
}

/// The flash kernel needs no scratch memory.
pub fn no_scratch(_: &AttentionProblem) -> Vec<u64> {
    Vec::new()
}

/// Keys per split of the split-KV kernel (counted from a row's first visible key). Each key is
/// rescaled once, at the combine, so the kernel declares an online softmax with tiles of this
/// many keys (docs/numerics.md, "Split-KV decode").
pub const SPLIT_KEYS: usize = 256;

/// Lanes of a split-KV workgroup.
const SPLIT_LANES: u64 = 64;

/// Output columns a lane holds in the split-KV combine.
const SPLIT_SLOTS: u64 = 8;

/// Largest d_v the split-KV combine holds in its lanes' registers (d_qk is not limited).
pub const SPLIT_MAX_HEAD_DIM: usize = (SPLIT_SLOTS * SPLIT_LANES) as usize;

/// Splits the split-KV launch has room for per row: those of a row that sees every key.
fn splits(p: &AttentionProblem) -> usize {
    p.len_kv.div_ceil(SPLIT_KEYS)
}

/// Split-KV kernel: pass 1 a workgroup per (split, query, batch·head), pass 2 (the combine) a
/// workgroup per (query, batch·head).
pub fn splitkv_grid(p: &AttentionProblem) -> Vec<[usize; 3]> {
    vec![
        [splits(p), p.len_q, p.batch * p.heads_q],
        [p.len_q, p.batch * p.heads_q, 1],
    ]
}

/// Loop iterations one split-KV invocation runs, in whichever pass runs more, counting every
/// loop of the shader as written. Split pass: the scores of every 64th key of the split (d_qk
/// each), two 6-step reductions, the exponentials, then every 64th output column over the
/// split's keys. Combine: the maximum over the splits, then per split its 8 column slots, then
/// the 8 slots out (or the zero fill of an empty row).
pub fn splitkv_loops(p: &AttentionProblem) -> u64 {
    let per_lane = (SPLIT_KEYS as u64).div_ceil(SPLIT_LANES);
    let cols = (p.d_v as u64).div_ceil(SPLIT_LANES);
    let split = per_lane * (p.d_qk as u64 + 1) + 12 + per_lane + cols * (SPLIT_KEYS as u64 + 1);
    let s = splits(p) as u64;
    let combine = s + s * (1 + SPLIT_SLOTS) + SPLIT_SLOTS + cols;
    split.max(combine)
}

/// The split-KV kernel's scratch: per (row, split) its maximum, sum and d_v unnormalised sums.
pub fn splitkv_scratch(p: &AttentionProblem) -> Vec<u64> {
    vec![(p.batch * p.heads_q * p.len_q * splits(p) * (p.d_v + 2)) as u64 * 4]
}
