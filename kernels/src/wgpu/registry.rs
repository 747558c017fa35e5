//! The WGSL kernels: one entry per kernel body, with its bindings and launch geometry.

use crosscheck_spec::{AttentionProblem, MatmulProblem, Op, Problem, Softmax, Variant};

use super::{attention, matmul, storage};

/// Everything one launch needs besides the buffers.
pub struct LaunchPlan {
    /// Workgroup counts.
    pub grid: [usize; 3],
    /// Uniform bytes.
    pub params: Vec<u8>,
    /// Bytes of each scratch buffer.
    pub scratch: Vec<u64>,
    /// Upper bound on the loop iterations one invocation runs.
    pub loop_iterations: u64,
}

/// How a kernel is launched for a problem of its op.
#[derive(Clone, Copy)]
pub enum Launch {
    /// A matmul kernel.
    Matmul {
        /// Workgroup counts.
        grid: fn(&MatmulProblem) -> [usize; 3],
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&MatmulProblem) -> u64,
    },
    /// An attention kernel.
    Attention {
        /// Workgroup counts.
        grid: fn(&AttentionProblem) -> [usize; 3],
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&AttentionProblem) -> u64,
        /// Scratch buffer sizes in bytes.
        scratch: fn(&AttentionProblem) -> Vec<u64>,
        /// Largest d_qk and d_v.
        max_head_dim: usize,
    },
}

impl Launch {
    /// The WGSL declaration of the `Params` struct this launch fills.
    pub fn params_wgsl(&self) -> &'static str {
        match self {
            Launch::Matmul { .. } => matmul::PARAMS_WGSL,
            Launch::Attention { .. } => attention::PARAMS_WGSL,
        }
    }

    /// The launch for `problem`, or why this kernel cannot take it.
    pub fn plan(&self, problem: &Problem) -> Result<LaunchPlan, String> {
        match (self, problem) {
            (Launch::Matmul { grid, loops }, Problem::Matmul(p)) => Ok(LaunchPlan {
                grid: grid(p),
                params: matmul::params(p),
                scratch: Vec::new(),
                loop_iterations: loops(p),
            }),
            (
                Launch::Attention {
                    grid,
                    loops,
                    scratch,
                    max_head_dim,
                },
                Problem::Attention(p),
            ) => {
                if p.d_qk.max(p.d_v) > *max_head_dim {
                    return Err(format!(
                        "head widths d_qk {} / d_v {} exceed this kernel's {max_head_dim}",
                        p.d_qk, p.d_v
                    ));
                }
                Ok(LaunchPlan {
                    grid: grid(p),
                    params: attention::params(p),
                    scratch: scratch(p),
                    loop_iterations: loops(p),
                })
            }
            _ => Err(format!("not a {} kernel", problem.op())),
        }
    }
}

/// One WGSL kernel.
pub struct WgslKernel {
    /// Op family.
    pub op: Op,
    /// Kernel name.
    pub name: &'static str,
    /// One line on how it works.
    pub summary: &'static str,
    /// The kernel body (bindings and accessors are generated per variant).
    pub body: &'static str,
    /// Input buffer names, in binding order.
    pub inputs: &'static [&'static str],
    /// Output buffer name.
    pub output: &'static str,
    /// Scratch buffer names (f32 arrays bound after the parameters).
    pub scratch: &'static [&'static str],
    /// Launch geometry.
    pub launch: Launch,
    /// The softmax schedule it declares (attention).
    pub softmax: Softmax,
}

impl WgslKernel {
    /// The complete WGSL module for `variant`: generated storage prelude, then the kernel body.
    pub fn module(&self, variant: Variant) -> String {
        storage::prelude(
            variant,
            self.inputs,
            self.output,
            self.launch.params_wgsl(),
            self.scratch,
        ) + self.body
    }
}

/// Every WGSL kernel. Adding a kernel means one shader file and one entry here.
pub const KERNELS: &[WgslKernel] = &[
    WgslKernel {
        op: Op::Matmul,
        name: "naive",
        summary: "one invocation per output element, f32 dot product straight from storage",
        body: include_str!("shaders/matmul_naive.wgsl"),
        inputs: &["a", "b"],
        output: "c",
        scratch: &[],
        launch: Launch::Matmul {
            grid: matmul::naive_grid,
            loops: matmul::naive_loops,
        },
        softmax: Softmax::TwoPass,
    },
    WgslKernel {
        op: Op::Matmul,
        name: "tiled",
        summary: "32x32 workgroup tiles staged in workgroup memory, 4x4 register block per invocation",
        body: include_str!("shaders/matmul_tiled.wgsl"),
        inputs: &["a", "b"],
        output: "c",
        scratch: &[],
        launch: Launch::Matmul {
            grid: matmul::tiled_grid,
            loops: matmul::tiled_loops,
        },
        softmax: Softmax::TwoPass,
    },
    WgslKernel {
        op: Op::Attention,
        name: "naive",
        summary: "a workgroup per query row: scores to a scratch buffer, reduced max, exp, reduced sum, P·V",
        body: include_str!("shaders/attention_naive.wgsl"),
        inputs: &["q", "k", "v"],
        output: "o",
        scratch: &["scores"],
        launch: Launch::Attention {
            grid: attention::naive_grid,
            loops: attention::naive_loops,
            scratch: attention::naive_scratch,
            max_head_dim: usize::MAX,
        },
        softmax: Softmax::TwoPass,
    },
    WgslKernel {
        op: Op::Attention,
        name: "flash",
        summary: "one dispatch: K/V tiles of 16 keys in workgroup memory, online softmax with rescaling",
        body: include_str!("shaders/attention_flash.wgsl"),
        inputs: &["q", "k", "v"],
        output: "o",
        scratch: &[],
        launch: Launch::Attention {
            grid: attention::flash_grid,
            loops: attention::flash_loops,
            scratch: attention::no_scratch,
            max_head_dim: attention::FLASH_MAX_HEAD_DIM,
        },
        softmax: Softmax::Online {
            key_tile: attention::FLASH_KEY_TILE,
        },
    },
];
