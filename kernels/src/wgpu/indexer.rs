//! Launch geometry, parameters and loop counts of the WGSL sparse indexer kernels.

use crosscheck_spec::SparseIndexerProblem;

/// The WGSL declaration of [`Params`], prepended to every indexer kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    len_q: u32, len_kv: u32, heads: u32, d: u32,
}
";

/// Largest head width of the tiled kernel (its workgroup array of one query row).
pub const TILED_MAX_D: usize = 256;

/// The uniform block every indexer kernel reads as `p`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len_q: u32,
    len_kv: u32,
    heads: u32,
    d: u32,
}

/// Uniform bytes for `p` (the caller has checked that every count fits in u32).
pub fn params(p: &SparseIndexerProblem) -> Vec<u8> {
    let params = Params {
        len_q: p.len_q as u32,
        len_kv: p.len_kv as u32,
        heads: p.heads as u32,
        d: p.d as u32,
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// Both kernels: workgroups of 64 keys by queries.
pub fn grid(p: &SparseIndexerProblem) -> [usize; 3] {
    [p.len_kv.div_ceil(64), p.len_q, 1]
}

/// Loop iterations one naive invocation runs: heads × (d + 1).
pub fn naive_loops(p: &SparseIndexerProblem) -> u64 {
    p.heads as u64 * (p.d as u64 + 1)
}

/// Loop iterations one tiled invocation runs: per head, its share of the staged row, the dot
/// product and the head loop's own step.
pub fn tiled_loops(p: &SparseIndexerProblem) -> u64 {
    let d = p.d as u64;
    p.heads as u64 * (d.div_ceil(64) + 1 + d + 1)
}
