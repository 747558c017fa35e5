//! Launch geometry and parameters of the WGSL matmul kernels.

use crosscheck_spec::MatmulProblem;

/// The WGSL declaration of [`Params`], prepended to every matmul kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    batch: u32, m: u32, n: u32, k: u32,
    a_batch_stride: u32, a_row_stride: u32, a_col_stride: u32,
    b_batch_stride: u32, b_row_stride: u32, b_col_stride: u32,
    _pad0: u32, _pad1: u32,
}
";

/// The uniform block every matmul kernel reads as `p` (declared in WGSL by [`PARAMS_WGSL`]).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    m: u32,
    n: u32,
    k: u32,
    a_batch_stride: u32,
    a_row_stride: u32,
    a_col_stride: u32,
    b_batch_stride: u32,
    b_row_stride: u32,
    b_col_stride: u32,
    pad: [u32; 2],
}

/// Uniform bytes for `p`: strides encode both layouts and the broadcast of B. The caller has
/// checked that every element count fits in u32.
pub fn params(p: &MatmulProblem) -> Vec<u8> {
    let (a_rs, a_cs) = p.a_layout.strides(p.m, p.k);
    let (b_rs, b_cs) = p.b_layout.strides(p.k, p.n);
    let params = Params {
        batch: p.batch as u32,
        m: p.m as u32,
        n: p.n as u32,
        k: p.k as u32,
        a_batch_stride: (p.m * p.k) as u32,
        a_row_stride: a_rs as u32,
        a_col_stride: a_cs as u32,
        b_batch_stride: if p.b_broadcast { 0 } else { (p.k * p.n) as u32 },
        b_row_stride: b_rs as u32,
        b_col_stride: b_cs as u32,
        pad: [0; 2],
    };
    bytemuck::bytes_of(&params).to_vec()
}

/// Loop iterations one naive invocation runs (its k loop).
pub fn naive_loops(p: &MatmulProblem) -> u64 {
    p.k as u64 + 1
}

/// Loop iterations one tiled invocation runs, counting every loop of the shader as written:
/// per 16-deep k slab, 4 stages of 4 loads and 16 register-block steps; then the 8×8 stores.
pub fn tiled_loops(p: &MatmulProblem) -> u64 {
    p.k.div_ceil(16) as u64 * (1 + 4 * (1 + 4) + 16) + 8 * (1 + 8)
}

/// Workgroups for the naive kernel: 16×16 invocations, one per output element.
pub fn naive_grid(p: &MatmulProblem) -> [usize; 3] {
    [p.n.div_ceil(16), p.m.div_ceil(16), p.batch]
}

/// Workgroups for the tiled kernel: one per 64×64 tile of C.
pub fn tiled_grid(p: &MatmulProblem) -> [usize; 3] {
    [p.n.div_ceil(64), p.m.div_ceil(64), p.batch]
}
