//! The WGSL kernels: one entry per kernel body, with its bindings and launch geometry.

use crosscheck_spec::{
    Accumulator, AttentionProblem, DequantizeProblem, MatmulProblem, Op, Precision, Problem,
    QuantFamily, QuantizeProblem, Softmax, Variant,
};

use super::storage::{self, Binding};
use super::{attention, matmul, moe, quant};

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
    /// A quantize (or, with `dequantize`, dequantize) kernel of one format family.
    Quant {
        /// True for dequantize kernels.
        dequantize: bool,
        /// The format family it handles (`q8_0`, `q4_0`, `int8`, `fp8`).
        family: QuantFamily,
        /// Workgroup counts and uniform bytes.
        launch: fn(&QuantizeProblem) -> ([usize; 3], Vec<u8>),
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&QuantizeProblem) -> u64,
    },
    /// A quantized matmul of one weight format family.
    QuantMatmul {
        /// The weight format family.
        family: QuantFamily,
    },
    /// A MoE kernel: its launch (grid, parameters, loop bound) or why it cannot take the problem.
    Moe {
        /// The launch of a problem of the kernel's op.
        plan: fn(&Problem) -> Result<LaunchPlan, String>,
    },
}

impl Launch {
    /// The WGSL declaration of the `Params` struct this launch fills.
    pub fn params_wgsl(&self) -> &'static str {
        match self {
            Launch::Matmul { .. } => matmul::PARAMS_WGSL,
            Launch::Attention { .. } => attention::PARAMS_WGSL,
            Launch::Quant { .. } => quant::QUANT_PARAMS_WGSL,
            Launch::QuantMatmul { .. } => quant::QMATMUL_PARAMS_WGSL,
            Launch::Moe { .. } => moe::PARAMS_WGSL,
        }
    }

    /// The launch for `problem`, or why this kernel cannot take it.
    pub fn plan(&self, problem: &Problem) -> Result<LaunchPlan, String> {
        let plain = |(grid, params): ([usize; 3], Vec<u8>), loop_iterations| LaunchPlan {
            grid,
            params,
            scratch: Vec::new(),
            loop_iterations,
        };
        let family_check = |family: &QuantFamily, wanted: QuantFamily| {
            if *family == wanted {
                Ok(())
            } else {
                Err(format!("kernel for {family} formats, not {wanted}"))
            }
        };
        match (self, problem) {
            (Launch::Matmul { grid, loops }, Problem::Matmul(p)) => {
                Ok(plain((grid(p), matmul::params(p)), loops(p)))
            }
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
            (
                Launch::Quant {
                    dequantize: false,
                    family,
                    launch,
                    loops,
                },
                Problem::Quantize(p),
            )
            | (
                Launch::Quant {
                    dequantize: true,
                    family,
                    launch,
                    loops,
                },
                Problem::Dequantize(DequantizeProblem(p)),
            ) => {
                family_check(family, p.format.family())?;
                Ok(plain(launch(p), loops(p)))
            }
            (Launch::QuantMatmul { family }, Problem::QuantMatmul(p)) => {
                family_check(family, p.weights.family())?;
                Ok(plain(quant::qmatmul_launch(p), quant::qmatmul_loops(p)))
            }
            (Launch::Moe { plan }, _) => plan(problem),
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
    /// Input bindings, in order.
    pub inputs: &'static [Binding],
    /// Output binding.
    pub output: Binding,
    /// Scratch buffer names (f32 arrays bound after the parameters).
    pub scratch: &'static [&'static str],
    /// Shared WGSL helper sources appended to the prelude.
    pub helpers: &'static [&'static str],
    /// The variants it is built for.
    pub variants: &'static [Variant],
    /// Launch geometry.
    pub launch: Launch,
    /// Accumulator it declares.
    pub accumulator: Accumulator,
    /// The softmax schedule it declares (attention).
    pub softmax: Softmax,
}

impl WgslKernel {
    /// The complete WGSL module for `variant`: generated prelude, then the kernel body.
    pub fn module(&self, variant: Variant) -> String {
        let helpers = self.helpers.concat();
        storage::prelude(
            variant,
            self.inputs,
            self.output,
            self.launch.params_wgsl(),
            self.scratch,
            &helpers,
        ) + self.body
    }
}

/// Floating-point kernels run in every variant.
const FLOAT_VARIANTS: &[Variant] = &[
    Variant::portable(Precision::F32),
    Variant::portable(Precision::F16),
    Variant::native(Precision::F16),
    Variant::portable(Precision::BF16),
];

/// Quantized kernels take f32 (activations and outputs).
const F32_ONLY: &[Variant] = &[Variant::portable(Precision::F32)];

const QUANT_COMMON: &str = include_str!("shaders/quant_common.wgsl");
const MOE_COMMON: &str = include_str!("shaders/moe_common.wgsl");
const MOE_FP8_COMMON: &str = include_str!("shaders/moe_fp8_common.wgsl");

/// FP8 MoE kernels write f32 or bf16, as DeepGEMM's do.
const F32_BF16: &[Variant] = &[
    Variant::portable(Precision::F32),
    Variant::portable(Precision::BF16),
];
const WORKGROUP_MAX: &str = include_str!("shaders/workgroup_max.wgsl");

/// A floating-point kernel entry.
const fn float(
    op: Op,
    name: &'static str,
    summary: &'static str,
    body: &'static str,
    inputs: &'static [Binding],
    output: &'static str,
    launch: Launch,
) -> WgslKernel {
    WgslKernel {
        op,
        name,
        summary,
        body,
        inputs,
        output: Binding::float(output),
        scratch: &[],
        helpers: &[],
        variants: FLOAT_VARIANTS,
        launch,
        accumulator: Accumulator::F32,
        softmax: Softmax::TwoPass,
    }
}

/// A quantize (or dequantize) kernel entry for one format family.
const fn quantizer(
    dequantize: bool,
    family: QuantFamily,
    summary: &'static str,
    body: &'static str,
) -> WgslKernel {
    type LaunchFn = fn(&QuantizeProblem) -> ([usize; 3], Vec<u8>);
    let (op, inputs, output, launch, loops): (_, _, _, LaunchFn, fn(&QuantizeProblem) -> u64) =
        if dequantize {
            (
                Op::Dequantize,
                QUANTIZED_INPUT,
                Binding::f32("out"),
                quant::dequantize_launch,
                quant::dequantize_loops,
            )
        } else {
            (
                Op::Quantize,
                F32_INPUT,
                Binding::bytes("out"),
                quant::quantize_launch,
                quant::quantize_loops,
            )
        };
    WgslKernel {
        op,
        name: family.name(),
        summary,
        body,
        inputs,
        output,
        scratch: &[],
        helpers: &[QUANT_COMMON, WORKGROUP_MAX],
        variants: F32_ONLY,
        launch: Launch::Quant {
            dequantize,
            family,
            launch,
            loops,
        },
        accumulator: Accumulator::F32,
        softmax: Softmax::TwoPass,
    }
}

/// A quantized matmul entry for one weight format family.
const fn qmatmul(
    family: QuantFamily,
    summary: &'static str,
    body: &'static str,
    inputs: &'static [Binding],
    accumulator: Accumulator,
) -> WgslKernel {
    WgslKernel {
        op: Op::QuantMatmul,
        name: family.name(),
        summary,
        body,
        inputs,
        output: Binding::f32("c"),
        scratch: &[],
        helpers: &[QUANT_COMMON],
        variants: F32_ONLY,
        launch: Launch::QuantMatmul { family },
        accumulator,
        softmax: Softmax::TwoPass,
    }
}

const MATMUL_INPUTS: &[Binding] = &[Binding::float("a"), Binding::float("b")];
const GROUPED_INPUTS: &[Binding] = &[
    Binding::float("a"),
    Binding::float("b"),
    Binding::words("groups"),
];
const GROUPED_FP8_INPUTS: &[Binding] = &[
    Binding::bytes("a"),
    Binding::bytes("b"),
    Binding::words("groups"),
];
const ROUTED_INPUTS: &[Binding] = &[
    Binding::float("x"),
    Binding::float("w"),
    Binding::words("ids"),
    Binding::f32("weights"),
];

/// A MoE kernel entry: a float kernel in every variant, or an FP8 one writing f32 or bf16.
const fn grouped(
    op: Op,
    name: &'static str,
    summary: &'static str,
    body: &'static str,
    helpers: &'static [&'static str],
    plan: fn(&Problem) -> Result<LaunchPlan, String>,
) -> WgslKernel {
    let fp8 = matches!(name.as_bytes(), [b'f', b'p', b'8', ..]);
    let routed = matches!(op, Op::MoeRouted);
    WgslKernel {
        op,
        name,
        summary,
        body,
        inputs: if routed {
            ROUTED_INPUTS
        } else if fp8 {
            GROUPED_FP8_INPUTS
        } else {
            GROUPED_INPUTS
        },
        output: Binding::float(if routed { "y" } else { "c" }),
        scratch: &[],
        helpers,
        variants: if fp8 { F32_BF16 } else { FLOAT_VARIANTS },
        launch: Launch::Moe { plan },
        accumulator: Accumulator::F32,
        softmax: Softmax::TwoPass,
    }
}
const F32_INPUT: &[Binding] = &[Binding::f32("x")];
const QUANTIZED_INPUT: &[Binding] = &[Binding::bytes("q")];
const F32_TIMES_QUANTIZED: &[Binding] = &[Binding::f32("a"), Binding::bytes("w")];
const QUANTIZED_TIMES_QUANTIZED: &[Binding] = &[Binding::bytes("a"), Binding::bytes("w")];
const ATTENTION_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::float("k"),
    Binding::float("v"),
];

/// Every WGSL kernel. Adding a kernel means one shader file and one entry here.
pub const KERNELS: &[WgslKernel] = &[
    float(
        Op::Matmul,
        "naive",
        "one invocation per output element, f32 dot product straight from storage",
        include_str!("shaders/matmul_naive.wgsl"),
        MATMUL_INPUTS,
        "c",
        Launch::Matmul {
            grid: matmul::naive_grid,
            loops: matmul::naive_loops,
        },
    ),
    float(
        Op::Matmul,
        "tiled",
        "64x64 workgroup tiles staged in workgroup memory as vec4s, 8x8 register block per invocation",
        include_str!("shaders/matmul_tiled.wgsl"),
        MATMUL_INPUTS,
        "c",
        Launch::Matmul {
            grid: matmul::tiled_grid,
            loops: matmul::tiled_loops,
        },
    ),
    WgslKernel {
        scratch: &["scores"],
        ..float(
            Op::Attention,
            "naive",
            "a workgroup per query row: scores to a scratch buffer, reduced max, exp, reduced sum, P·V",
            include_str!("shaders/attention_naive.wgsl"),
            ATTENTION_INPUTS,
            "o",
            Launch::Attention {
                grid: attention::naive_grid,
                loops: attention::naive_loops,
                scratch: attention::naive_scratch,
                max_head_dim: usize::MAX,
            },
        )
    },
    WgslKernel {
        softmax: Softmax::Online {
            key_tile: attention::FLASH_KEY_TILE,
        },
        ..float(
            Op::Attention,
            "flash",
            "one dispatch: K/V tiles of 16 keys in workgroup memory, online softmax with rescaling",
            include_str!("shaders/attention_flash.wgsl"),
            ATTENTION_INPUTS,
            "o",
            Launch::Attention {
                grid: attention::flash_grid,
                loops: attention::flash_loops,
                scratch: attention::no_scratch,
                max_head_dim: attention::FLASH_MAX_HEAD_DIM,
            },
        )
    },
    quantizer(
        false,
        QuantFamily::Q8_0,
        "a block per invocation; exact division, f16 and rounding in integer ops",
        include_str!("shaders/quantize_q8_0.wgsl"),
    ),
    quantizer(
        false,
        QuantFamily::Q4_0,
        "a block per invocation; exact division, the +8.5 and truncation in integer ops",
        include_str!("shaders/quantize_q4_0.wgsl"),
    ),
    quantizer(
        false,
        QuantFamily::Int8,
        "a workgroup per row: reduced amax, exact division, rounding in integer ops",
        include_str!("shaders/quantize_int8.wgsl"),
    ),
    quantizer(
        false,
        QuantFamily::Fp8,
        "raw: a value per invocation; scaled: a workgroup per tile, reduced amax",
        include_str!("shaders/quantize_fp8.wgsl"),
    ),
    quantizer(
        true,
        QuantFamily::Q8_0,
        "a value per invocation: d·q",
        include_str!("shaders/dequantize_q8_0.wgsl"),
    ),
    quantizer(
        true,
        QuantFamily::Q4_0,
        "a value per invocation: d·(q − 8)",
        include_str!("shaders/dequantize_q4_0.wgsl"),
    ),
    quantizer(
        true,
        QuantFamily::Int8,
        "a value per invocation: q·scale",
        include_str!("shaders/dequantize_int8.wgsl"),
    ),
    quantizer(
        true,
        QuantFamily::Fp8,
        "a value per invocation: E4M3·scale",
        include_str!("shaders/dequantize_fp8.wgsl"),
    ),
    qmatmul(
        QuantFamily::Q8_0,
        "an output per invocation: per block, f32 dot of a·q, times d",
        include_str!("shaders/qmatmul_q8_0.wgsl"),
        F32_TIMES_QUANTIZED,
        Accumulator::F32,
    ),
    qmatmul(
        QuantFamily::Q4_0,
        "an output per invocation: per block, f32 dot of a·(q − 8), times d",
        include_str!("shaders/qmatmul_q4_0.wgsl"),
        F32_TIMES_QUANTIZED,
        Accumulator::F32,
    ),
    qmatmul(
        QuantFamily::Int8,
        "an output per invocation: i32 sums of int8 products, times both scales",
        include_str!("shaders/qmatmul_int8.wgsl"),
        QUANTIZED_TIMES_QUANTIZED,
        Accumulator::I32,
    ),
    qmatmul(
        QuantFamily::Fp8,
        "an output per invocation: per 128-block, f32 dot of E4M3 products, times both scales",
        include_str!("shaders/qmatmul_fp8.wgsl"),
        QUANTIZED_TIMES_QUANTIZED,
        Accumulator::F32,
    ),
    grouped(
        Op::MoeContiguous,
        "naive",
        "an output per invocation: the row's expert from m_indices or offsets, one f32 dot product",
        include_str!("shaders/moe_contiguous_naive.wgsl"),
        &[MOE_COMMON],
        moe::naive,
    ),
    grouped(
        Op::MoeContiguous,
        "tiled",
        "64x64 tiles as the tiled matmul, once per run of rows sharing an expert (one run when aligned)",
        include_str!("shaders/moe_contiguous_tiled.wgsl"),
        &[MOE_COMMON],
        moe::tiled,
    ),
    grouped(
        Op::MoeContiguous,
        "fp8",
        "an output per invocation: per 128-block, f32 dot of E4M3 codes, times both scales",
        include_str!("shaders/moe_contiguous_fp8.wgsl"),
        &[QUANT_COMMON, MOE_COMMON, MOE_FP8_COMMON],
        moe::fp8,
    ),
    grouped(
        Op::MoeMasked,
        "naive",
        "an output per invocation of expert z: rows past masked_m skipped, one f32 dot product",
        include_str!("shaders/moe_masked_naive.wgsl"),
        &[],
        moe::naive,
    ),
    grouped(
        Op::MoeMasked,
        "tiled",
        "64x64 tiles of each expert as the tiled matmul; tiles past masked_m do no arithmetic",
        include_str!("shaders/moe_masked_tiled.wgsl"),
        &[],
        moe::tiled,
    ),
    grouped(
        Op::MoeMasked,
        "fp8",
        "an output per invocation of expert z: per 128-block, f32 dot of E4M3 codes, times both scales",
        include_str!("shaders/moe_masked_fp8.wgsl"),
        &[QUANT_COMMON, MOE_FP8_COMMON],
        moe::fp8,
    ),
    grouped(
        Op::MoeRouted,
        "naive",
        "an output per invocation: per slot the f32 dot product times its weight, summed in order",
        include_str!("shaders/moe_routed_naive.wgsl"),
        &[],
        moe::naive,
    ),
    grouped(
        Op::MoeRouted,
        "tiled",
        "256 columns of a token per workgroup: X staged in chunks of 256, four columns per invocation",
        include_str!("shaders/moe_routed_tiled.wgsl"),
        &[],
        moe::tiled,
    ),
];
