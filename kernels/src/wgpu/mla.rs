//! Launch geometry and parameters of the WGSL MLA decode kernels.

use crosscheck_spec::MlaProblem;

/// The WGSL declaration of [`Params`], prepended to every MLA kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    batch: u32, heads_q: u32, seq_q: u32, d_latent: u32,
    d_qk: u32, page: u32, blocks: u32, causal: u32,
    default_scale: u32, scale: f32, token_bytes: u32, _pad: u32,
}
";

/// Lanes of a workgroup: one workgroup per query row, keys and output columns split over them.
pub const LANES: usize = 64;

/// Tokens per tile of the flash kernel (its declared online-softmax schedule).
pub const FLASH_KEY_TILE: usize = 64;

/// Largest d_latent the flash kernel holds in its per-lane output registers (8 columns a lane).
pub const FLASH_MAX_LATENT: usize = 8 * LANES;

/// The uniform block every MLA kernel reads as `p`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    heads_q: u32,
    seq_q: u32,
    d_latent: u32,
    d_qk: u32,
    page: u32,
    blocks: u32,
    causal: u32,
    /// 1 = the kernel computes 1/√d_qk itself; 0 = use `scale`.
    default_scale: u32,
    scale: f32,
    /// Bytes per token of the FP8 layout (0 for a dense cache).
    token_bytes: u32,
    pad: u32,
}

/// Uniform bytes for `p` (the caller has checked that every count fits in u32).
pub fn params(p: &MlaProblem) -> Vec<u8> {
    let params = Params {
        batch: p.batch as u32,
        heads_q: p.heads_q as u32,
        seq_q: p.seq_q as u32,
        d_latent: p.d_latent as u32,
        d_qk: p.d_qk() as u32,
        page: p.page as u32,
        blocks: p.blocks as u32,
        causal: p.causal as u32,
        default_scale: p.custom_scale().is_none() as u32,
        scale: p.custom_scale().unwrap_or(0.0),
        token_bytes: if p.fp8 { p.fp8_token_bytes() as u32 } else { 0 },
        pad: 0,
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// One workgroup per (query, batch·head).
pub fn grid(p: &MlaProblem) -> Vec<[usize; 3]> {
    vec![[p.seq_q, p.batch * p.heads_q, 1]]
}

/// The longest sequence the block table allows.
fn max_tokens(p: &MlaProblem) -> u64 {
    (p.blocks * p.page) as u64
}

/// Loop iterations one naive invocation runs, counting every loop of the shader as written:
/// scores of every 64th token (d_qk each), two 6-step reductions, exponentials, then every
/// 64th output column over all tokens, and the zero fill of an empty row.
pub fn naive_loops(p: &MlaProblem) -> u64 {
    let (n, lanes) = (max_tokens(p), LANES as u64);
    let cols = (p.d_latent as u64).div_ceil(lanes);
    n.div_ceil(lanes) * (p.d_qk() as u64 + 2) + cols * (n + 1) + 12 + cols
}

/// Loop iterations one flash invocation runs: per tile of 64 tokens its score (d_qk), two
/// 6-step reductions and 8 column slots over the tile's tokens, then the 8 slots out.
pub fn flash_loops(p: &MlaProblem) -> u64 {
    let tiles = max_tokens(p).div_ceil(FLASH_KEY_TILE as u64);
    let per_tile = 1 + p.d_qk() as u64 + 12 + 8 * (FLASH_KEY_TILE as u64 + 1);
    tiles * per_tile + 2 * 8
}

/// The naive kernel's scratch: one f32 score per (row, token).
pub fn naive_scratch(p: &MlaProblem) -> Vec<u64> {
    vec![(p.batch * p.heads_q * p.seq_q) as u64 * max_tokens(p) * 4]
}

/// The flash kernel needs no scratch memory.
pub fn no_scratch(_: &MlaProblem) -> Vec<u64> {
    Vec::new()
}

/// Tokens per split of the split-KV kernel. Each token is rescaled once, at the combine, so the
/// kernel declares an online softmax with tiles of this many tokens (docs/numerics.md).
pub const SPLIT_KEYS: usize = 64;

/// Output columns a lane holds in the split-KV combine.
const SPLIT_SLOTS: u64 = 8;

/// Splits the split-KV launch has room for per row: those of the longest sequence.
fn splits(p: &MlaProblem) -> u64 {
    max_tokens(p).div_ceil(SPLIT_KEYS as u64)
}

/// Split-KV kernel: pass 1 a workgroup per (split, query, batch·head), pass 2 (the combine) a
/// workgroup per (query, batch·head).
pub fn splitkv_grid(p: &MlaProblem) -> Vec<[usize; 3]> {
    vec![
        [splits(p) as usize, p.seq_q, p.batch * p.heads_q],
        [p.seq_q, p.batch * p.heads_q, 1],
    ]
}

/// Loop iterations one split-KV invocation runs, in whichever pass runs more, counting every
/// loop of the shader as written. Split pass: the scores of every 64th token of the split
/// (d_qk each), two 6-step reductions, the exponentials, then every 64th latent column over
/// the split's tokens. Combine: the maximum over the splits, then per split its 8 column
/// slots, then the 8 slots out (or the zero fill of an empty row).
pub fn splitkv_loops(p: &MlaProblem) -> u64 {
    let lanes = LANES as u64;
    let per_lane = (SPLIT_KEYS as u64).div_ceil(lanes);
    let cols = (p.d_latent as u64).div_ceil(lanes);
    let split = per_lane * (p.d_qk() as u64 + 1) + 12 + per_lane + cols * (SPLIT_KEYS as u64 + 1);
    let s = splits(p);
    let combine = s + s * (1 + SPLIT_SLOTS) + SPLIT_SLOTS + cols;
    split.max(combine)
}

/// The split-KV kernel's scratch: per (row, split) its maximum, sum and d_latent sums.
pub fn splitkv_scratch(p: &MlaProblem) -> Vec<u64> {
    vec![(p.batch * p.heads_q * p.seq_q) as u64 * splits(p) * (p.d_latent as u64 + 2) * 4]
}
