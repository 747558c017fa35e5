//! Launch geometry, parameters and loop counts of the WGSL MoE kernels.

use crosscheck_spec::{
    FP8_TILE, Grouping, Layout, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem, Padding,
    Problem,
};

use super::registry::LaunchPlan;

/// The WGSL declaration of [`Params`], prepended to every MoE kernel as `p`.
pub const PARAMS_WGSL: &str = "struct Params {
    rows: u32, n: u32, k: u32, experts: u32,
    alignment: u32, grouping: u32, zero_padding: u32, top_k: u32,
    b_expert_stride: u32, b_k_stride: u32, b_n_stride: u32, k_blocks: u32,
    rows_total: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
";

/// The uniform block every MoE kernel reads as `p`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    /// Contiguous: m; masked: max_m; routed: tokens.
    rows: u32,
    n: u32,
    k: u32,
    experts: u32,
    alignment: u32,
    /// 0: m_indices, 1: prefix-sum offsets.
    grouping: u32,
    /// 1: rows no expert owns are zeroed; 0: left untouched.
    zero_padding: u32,
    top_k: u32,
    b_expert_stride: u32,
    b_k_stride: u32,
    b_n_stride: u32,
    /// 128-blocks along k (FP8).
    k_blocks: u32,
    /// Rows of A (FP8: the rows its 1×128 scales are laid out over).
    rows_total: u32,
    pad: [u32; 3],
}

/// Which body a MoE kernel has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// One invocation per output element.
    Naive,
    /// 64×64 tiles (grouped layouts) or 256 columns of a token (routed).
    Tiled,
    /// FP8 operands, one invocation per output element.
    Fp8,
}

/// Strides (expert, k, n) of B, logically [experts, k, n] in `layout`.
fn b_strides(layout: Layout, k: usize, n: usize) -> (u32, u32, u32) {
    let (k_stride, n_stride) = layout.strides(k, n);
    ((k * n) as u32, k_stride as u32, n_stride as u32)
}

fn zero(padding: Padding) -> u32 {
    (padding == Padding::Zero) as u32
}

/// The launch of a contiguous problem.
fn contiguous(p: &MoeContiguousProblem, body: Body) -> Result<LaunchPlan, String> {
    let (b_expert_stride, b_k_stride, b_n_stride) = b_strides(p.b_layout, p.k, p.n);
    let params = Params {
        rows: p.m as u32,
        n: p.n as u32,
        k: p.k as u32,
        experts: p.experts as u32,
        alignment: p.alignment as u32,
        grouping: (p.grouping == Grouping::Offsets) as u32,
        zero_padding: zero(p.padding),
        b_expert_stride,
        b_k_stride,
        b_n_stride,
        k_blocks: p.k.div_ceil(FP8_TILE) as u32,
        rows_total: p.m as u32,
        ..Params::default()
    };
    let expert_loop = p.experts as u64 + 1;
    let (grid, loops) = match body {
        Body::Naive => (
            [p.n.div_ceil(16), p.m.div_ceil(16), 1],
            expert_loop + p.k as u64 + 1,
        ),
        Body::Fp8 => (
            [p.n.div_ceil(16), p.m.div_ceil(16), 1],
            expert_loop + fp8_loops(p.k),
        ),
        Body::Tiled => {
            // A 64-row tile meets at most ⌈64 / alignment⌉ + 1 aligned blocks, each one run.
            let runs = (64usize.div_ceil(p.alignment) + 1).min(64) as u64;
            let per_run = 2 * 64 + tiled_k_loops(p.k) + 8 * (1 + 8);
            (
                [p.n.div_ceil(64), p.m.div_ceil(64), 1],
                expert_loop + 8 * (1 + 8) + runs * per_run + 1,
            )
        }
    };
    Ok(LaunchPlan {
        passes: vec![grid],
        params: bytemuck::bytes_of(&params).to_vec(),
        scratch: Vec::new(),
        loop_iterations: loops,
    })
}

/// Loop iterations of the tiled k loop: per 16-deep slab, 4 stages of 4 loads and 16 steps.
fn tiled_k_loops(k: usize) -> u64 {
    k.div_ceil(16) as u64 * (1 + 4 * (1 + 4) + 16)
}

/// Loop iterations of `fp8_dot`: the block loop and its inner loops (k in all).
fn fp8_loops(k: usize) -> u64 {
    (k.div_ceil(FP8_TILE) + k + 1) as u64
}

/// The launch of a masked problem.
fn masked(p: &MoeMaskedProblem, body: Body) -> Result<LaunchPlan, String> {
    let (b_expert_stride, b_k_stride, b_n_stride) = b_strides(p.b_layout, p.k, p.n);
    let params = Params {
        rows: p.max_m as u32,
        n: p.n as u32,
        k: p.k as u32,
        experts: p.experts as u32,
        alignment: 1,
        zero_padding: zero(p.padding),
        b_expert_stride,
        b_k_stride,
        b_n_stride,
        k_blocks: p.k.div_ceil(FP8_TILE) as u32,
        rows_total: (p.experts * p.max_m) as u32,
        ..Params::default()
    };
    let (grid, loops) = match body {
        Body::Naive => (
            [p.n.div_ceil(16), p.max_m.div_ceil(16), p.experts],
            p.k as u64 + 1,
        ),
        Body::Fp8 => (
            [p.n.div_ceil(16), p.max_m.div_ceil(16), p.experts],
            fp8_loops(p.k),
        ),
        Body::Tiled => (
            [p.n.div_ceil(64), p.max_m.div_ceil(64), p.experts],
            tiled_k_loops(p.k) + 8 * (1 + 8) + 1,
        ),
    };
    Ok(LaunchPlan {
        passes: vec![grid],
        params: bytemuck::bytes_of(&params).to_vec(),
        scratch: Vec::new(),
        loop_iterations: loops,
    })
}

/// The launch of a routed problem.
fn routed(p: &MoeRoutedProblem, body: Body) -> Result<LaunchPlan, String> {
    let (b_expert_stride, b_k_stride, b_n_stride) = b_strides(p.b_layout, p.k, p.n);
    let params = Params {
        rows: p.tokens as u32,
        n: p.n as u32,
        k: p.k as u32,
        experts: p.experts as u32,
        alignment: 1,
        top_k: p.top_k as u32,
        b_expert_stride,
        b_k_stride,
        b_n_stride,
        k_blocks: p.k.div_ceil(FP8_TILE) as u32,
        rows_total: p.tokens as u32,
        ..Params::default()
    };
    let (grid, loops) = match body {
        Body::Naive => (
            [p.n.div_ceil(16), p.tokens.div_ceil(16), 1],
            (p.top_k * (p.k + 1) + 1) as u64,
        ),
        Body::Tiled => {
            let chunks = p.k.div_ceil(256) as u64;
            (
                [p.n.div_ceil(256), p.tokens, 1],
                chunks * (1 + 4 + p.top_k as u64 * (1 + 256)) + 4 + 1,
            )
        }
        Body::Fp8 => (
            [p.n.div_ceil(16), p.tokens.div_ceil(16), 1],
            p.top_k as u64 * (fp8_loops(p.k) + 1) + 1,
        ),
    };
    Ok(LaunchPlan {
        passes: vec![grid],
        params: bytemuck::bytes_of(&params).to_vec(),
        scratch: Vec::new(),
        loop_iterations: loops,
    })
}

/// The launch of `problem` by a kernel of `body` (FP8 kernels take FP8 problems only, the
/// others float ones only).
pub fn plan(problem: &Problem, body: Body) -> Result<LaunchPlan, String> {
    let fp8 = match problem {
        Problem::MoeContiguous(p) => p.fp8,
        Problem::MoeMasked(p) => p.fp8,
        Problem::MoeRouted(p) => p.fp8,
        _ => false,
    };
    if fp8 != (body == Body::Fp8) {
        return Err(format!(
            "kernel for {} operands, not {}",
            if body == Body::Fp8 { "FP8" } else { "float" },
            if fp8 { "FP8" } else { "float" }
        ));
    }
    match problem {
        Problem::MoeContiguous(p) => contiguous(p, body),
        Problem::MoeMasked(p) => masked(p, body),
        Problem::MoeRouted(p) => routed(p, body),
        other => Err(format!("not a MoE problem: {}", other.op())),
    }
}

/// [`plan`] for naive kernels.
pub fn naive(problem: &Problem) -> Result<LaunchPlan, String> {
    plan(problem, Body::Naive)
}

/// [`plan`] for tiled kernels.
pub fn tiled(problem: &Problem) -> Result<LaunchPlan, String> {
    plan(problem, Body::Tiled)
}

/// [`plan`] for FP8 kernels.
pub fn fp8(problem: &Problem) -> Result<LaunchPlan, String> {
    plan(problem, Body::Fp8)
}
