//! The WGSL kernels: one entry per kernel body, with its bindings and launch geometry.

use crosscheck_spec::{MatmulProblem, Op, Problem, Variant};

use super::{matmul, storage};

/// How a kernel is launched for a problem of its op.
#[derive(Clone, Copy)]
pub enum Launch {
    /// A matmul kernel: workgroup counts from the problem.
    Matmul(fn(&MatmulProblem) -> [usize; 3]),
}

impl Launch {
    /// The WGSL declaration of the `Params` struct this launch fills.
    pub fn params_wgsl(&self) -> &'static str {
        match self {
            Launch::Matmul(_) => matmul::PARAMS_WGSL,
        }
    }

    /// Workgroup counts and uniform bytes for `problem`, or `None` if it is of another op.
    pub fn plan(&self, problem: &Problem) -> Option<([usize; 3], Vec<u8>)> {
        match (self, problem) {
            (Launch::Matmul(grid), Problem::Matmul(p)) => Some((grid(p), matmul::params(p))),
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
    /// Launch geometry.
    pub launch: Launch,
}

impl WgslKernel {
    /// The complete WGSL module for `variant`: generated storage prelude, then the kernel body.
    pub fn module(&self, variant: Variant) -> String {
        storage::prelude(variant, self.inputs, self.output, self.launch.params_wgsl()) + self.body
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
        launch: Launch::Matmul(matmul::naive_grid),
    },
    WgslKernel {
        op: Op::Matmul,
        name: "tiled",
        summary: "32x32 workgroup tiles staged in workgroup memory, 4x4 register block per invocation",
        body: include_str!("shaders/matmul_tiled.wgsl"),
        inputs: &["a", "b"],
        output: "c",
        launch: Launch::Matmul(matmul::tiled_grid),
    },
];
