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
