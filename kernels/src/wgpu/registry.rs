//! The WGSL kernels: one entry per kernel body, with its bindings and launch geometry.

use crosscheck_spec::{
    Accumulator, AttentionProblem, DequantizeProblem, MatmulProblem, MlaProblem, Op, Precision,
    Problem, QuantFamily, QuantizeProblem, Softmax, SparseAttentionProblem, SparseIndexerProblem,
    Variant,
};

use super::storage::{self, Binding};
use super::{attention, indexer, matmul, mla, moe, quant, sparse};

/// Everything one launch needs besides the buffers.
pub struct LaunchPlan {
    /// Workgroup counts of each pass, in order: pass i runs the kernel's entry point i
    /// ([`WgslKernel::entry_points`]) over the same bindings, after pass i − 1 has finished.
    pub passes: Vec<[usize; 3]>,
    /// Uniform bytes.
    pub params: Vec<u8>,
    /// Bytes of each scratch buffer.
    pub scratch: Vec<u64>,
    /// Upper bound on the loop iterations one invocation runs, in whichever pass runs most.
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
        /// Workgroup counts of each pass.
        grid: fn(&AttentionProblem) -> Vec<[usize; 3]>,
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
        /// The format family it handles (`q8_0`, `q4_0`, `int8`, `fp8`, `mx`, `nvfp4`, `kquant`).
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
    /// A sparse top-k attention kernel for dense or FP8 KV.
    Sparse {
        /// True when it reads FlashMLA's FP8 KV-cache layout, false for the variant's precision.
        fp8: bool,
        /// Largest d_v.
        max_dv: usize,
        /// Workgroup counts.
        grid: fn(&SparseAttentionProblem) -> [usize; 3],
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&SparseAttentionProblem) -> u64,
        /// Scratch buffer sizes in bytes.
        scratch: fn(&SparseAttentionProblem) -> Vec<u64>,
    },
    /// A sparse indexer logits kernel for dense or FP8 inputs.
    SparseIndexer {
        /// True when it reads E4M3 codes and key scales, false for the variant's precision.
        fp8: bool,
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&SparseIndexerProblem) -> u64,
        /// Largest head width.
        max_d: usize,
    },
    /// An MLA decode kernel for one KV-cache layout.
    Mla {
        /// True when it reads FlashMLA's FP8 layout, false for a dense cache.
        fp8: bool,
        /// Workgroup counts of each pass.
        grid: fn(&MlaProblem) -> Vec<[usize; 3]>,
        /// Upper bound on one invocation's loop iterations.
        loops: fn(&MlaProblem) -> u64,
        /// Scratch buffer sizes in bytes.
        scratch: fn(&MlaProblem) -> Vec<u64>,
        /// Largest d_latent.
        max_latent: usize,
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
            Launch::Mla { .. } => mla::PARAMS_WGSL,
            Launch::Sparse { .. } => sparse::PARAMS_WGSL,
            Launch::SparseIndexer { .. } => indexer::PARAMS_WGSL,
            Launch::Moe { .. } => moe::PARAMS_WGSL,
        }
    }

    /// The launch for `problem` in `variant`, or why this kernel cannot take it.
    pub fn plan(&self, problem: &Problem, variant: Variant) -> Result<LaunchPlan, String> {
        let plain = |(grid, params): ([usize; 3], Vec<u8>), loop_iterations| LaunchPlan {
            passes: vec![grid],
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
                    passes: grid(p),
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
                Ok(plain(
                    quant::qmatmul_launch(p, variant),
                    quant::qmatmul_loops(p),
                ))
            }
            (
                Launch::Mla {
                    fp8,
                    grid,
                    loops,
                    scratch,
                    max_latent,
                },
                Problem::Mla(p),
            ) => {
                if p.fp8 != *fp8 {
                    let layout = |fp8: bool| if fp8 { "FP8" } else { "dense" };
                    return Err(format!(
                        "kernel for {} caches, not {}",
                        layout(*fp8),
                        layout(p.fp8)
                    ));
                }
                if p.d_latent > *max_latent {
                    return Err(format!(
                        "d_latent {} exceeds this kernel's {max_latent}",
                        p.d_latent
                    ));
                }
                Ok(LaunchPlan {
                    passes: grid(p),
                    params: mla::params(p),
                    scratch: scratch(p),
                    loop_iterations: loops(p),
                })
            }
            (
                Launch::Sparse {
                    fp8,
                    max_dv,
                    grid,
                    loops,
                    scratch,
                },
                Problem::Sparse(p),
            ) => {
                if p.fp8 != *fp8 {
                    let layout = |fp8: bool| if fp8 { "FP8" } else { "dense" };
                    return Err(format!(
                        "kernel for {} KV, not {}",
                        layout(*fp8),
                        layout(p.fp8)
                    ));
                }
                if p.d_v > *max_dv {
                    return Err(format!("d_v {} exceeds this kernel's {max_dv}", p.d_v));
                }
                Ok(LaunchPlan {
                    passes: vec![grid(p)],
                    params: sparse::params(p),
                    scratch: scratch(p),
                    loop_iterations: loops(p),
                })
            }
            (Launch::SparseIndexer { fp8, loops, max_d }, Problem::SparseIndexer(p)) => {
                if p.fp8 != *fp8 {
                    let layout = |fp8: bool| if fp8 { "FP8" } else { "dense" };
                    return Err(format!(
                        "kernel for {} inputs, not {}",
                        layout(*fp8),
                        layout(p.fp8)
                    ));
                }
                if p.d > *max_d {
                    return Err(format!("head width {} exceeds this kernel's {max_d}", p.d));
                }
                Ok(plain((indexer::grid(p), indexer::params(p)), loops(p)))
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
    /// Entry points of its passes, in launch order (`main` for a one-pass kernel).
    pub entry_points: &'static [&'static str],
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

/// The split-KV kernels run in f32 and bf16 only: their storage accessors are the ones every
/// float kernel uses (f16 is checked there), and the default matrix stays short.
const SPLIT_VARIANTS: &[Variant] = &[
    Variant::portable(Precision::F32),
    Variant::portable(Precision::BF16),
];

/// Quantized kernels take f32 (activations and outputs).
const F32_ONLY: &[Variant] = &[Variant::portable(Precision::F32)];

/// The MX and NVFP4 quantized matmuls also run W4A16 in bf16: unquantized activations stored in
/// bf16 and C written in bf16 (rounded to nearest even), the sums in f32.
const W4A16_VARIANTS: &[Variant] = &[
    Variant::portable(Precision::F32),
    Variant::portable(Precision::BF16),
];

const QUANT_COMMON: &str = include_str!("shaders/quant_common.wgsl");
const MOE_COMMON: &str = include_str!("shaders/moe_common.wgsl");
const MOE_FP8_COMMON: &str = include_str!("shaders/moe_fp8_common.wgsl");

/// FP8 MoE kernels write f32 or bf16, as DeepGEMM's do.
const F32_BF16: &[Variant] = &[
    Variant::portable(Precision::F32),
    Variant::portable(Precision::BF16),
];
const WORKGROUP_MAX: &str = include_str!("shaders/workgroup_max.wgsl");
const MINIFLOAT: &str = include_str!("shaders/minifloat.wgsl");
const KQUANT: &str = include_str!("shaders/kquant.wgsl");

/// Helpers of the kernels built on the minifloat element types (`mx`, `nvfp4`).
const MINIFLOAT_HELPERS: &[&str] = &[QUANT_COMMON, WORKGROUP_MAX, MINIFLOAT];

/// Helpers of the FP8 kernels: the minifloat encoder and decoder and the UE8M0 scale bytes.
const FP8_HELPERS: &[&str] = &[
    QUANT_COMMON,
    WORKGROUP_MAX,
    MINIFLOAT,
    include_str!("shaders/ue8m0.wgsl"),
];

/// Helpers of the W8A8-with-bias kernel (bf16 rounding for its bf16 epilogue).
const BIAS_HELPERS: &[&str] = &[QUANT_COMMON, include_str!("shaders/bf16.wgsl")];

/// Helpers of the K-quant kernels.
const KQUANT_HELPERS: &[&str] = &[QUANT_COMMON, KQUANT];

/// Helpers of the K-quant quantizer: IEEE f32 arithmetic in integer operations.
const SOFTFLOAT_HELPERS: &[&str] = &[QUANT_COMMON, include_str!("shaders/softfloat.wgsl")];

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
        entry_points: ONE_PASS,
        launch,
        accumulator: Accumulator::F32,
        softmax: Softmax::TwoPass,
    }
}

/// The entry point of a one-pass kernel.
const ONE_PASS: &[&str] = &["main"];

/// The entry points of a split-KV kernel: the splits, then their combine.
const TWO_PASS: &[&str] = &["main", "combine"];

/// The MX quantizer (`quantize_mx.wgsl`) named `name`, launched with another scale rule's word.
const fn mx_quantizer_under(
    name: &'static str,
    summary: &'static str,
    launch: fn(&QuantizeProblem) -> ([usize; 3], Vec<u8>),
) -> WgslKernel {
    WgslKernel {
        name,
        helpers: MINIFLOAT_HELPERS,
        launch: Launch::Quant {
            dequantize: false,
            family: QuantFamily::Mx,
            launch,
            loops: quant::quantize_loops,
        },
        ..quantizer(
            false,
            QuantFamily::Mx,
            summary,
            include_str!("shaders/quantize_mx.wgsl"),
        )
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
        entry_points: ONE_PASS,
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

/// A quantized matmul entry for one weight format family: f32 only unless overridden with
/// [`W4A16_VARIANTS`]. C is stored in the variant's precision.
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
        output: Binding::float("c"),
        scratch: &[],
        helpers: &[QUANT_COMMON],
        variants: F32_ONLY,
        entry_points: ONE_PASS,
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
/// X and W of the FP8 routed kernel bound as `a` and `b`, the names `moe_fp8_common.wgsl` reads.
const ROUTED_FP8_INPUTS: &[Binding] = &[
    Binding::bytes("a"),
    Binding::bytes("b"),
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
        inputs: if routed && fp8 {
            ROUTED_FP8_INPUTS
        } else if routed {
            ROUTED_INPUTS
        } else if fp8 {
            GROUPED_FP8_INPUTS
        } else {
            GROUPED_INPUTS
        },
        output: Binding::float(if routed { "y" } else { "c" }),
        entry_points: ONE_PASS,
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
/// Activations in the variant's precision (f32 or bf16) times quantized weights.
const FLOAT_TIMES_QUANTIZED: &[Binding] = &[Binding::float("a"), Binding::bytes("w")];
const ATTENTION_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::float("k"),
    Binding::float("v"),
];

const SPARSE_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::float("kv"),
    Binding::bytes("indices"),
];

const SPARSE_FP8_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::bytes("kv"),
    Binding::bytes("indices"),
];
const SPARSE_NAIVE_BODY: &str = include_str!("shaders/sparse_naive.wgsl");
const SPARSE_FLASH_BODY: &str = include_str!("shaders/sparse_flash.wgsl");

/// A sparse attention kernel entry: `naive` (two-pass, scores in scratch) or `flash` (online
/// softmax over tiles of 64 slots), for dense KV in every float variant or (`fp8`) FlashMLA's FP8
/// KV cache with bf16 queries; the MLA family's layout helper provides `kv_at`.
const fn sparse_kernel(
    name: &'static str,
    summary: &'static str,
    body: &'static str,
    fp8: bool,
    naive: bool,
) -> WgslKernel {
    WgslKernel {
        op: Op::Sparse,
        name,
        summary,
        body,
        inputs: if fp8 {
            SPARSE_FP8_INPUTS
        } else {
            SPARSE_INPUTS
        },
        output: Binding::float("o"),
        scratch: if naive { &["scores"] } else { &[] },
        helpers: if fp8 {
            &[QUANT_COMMON, MLA_FP8]
        } else {
            &[MLA_DENSE]
        },
        variants: if fp8 { BF16_ONLY } else { FLOAT_VARIANTS },
        entry_points: ONE_PASS,
        launch: Launch::Sparse {
            fp8,
            max_dv: if naive {
                usize::MAX
            } else {
                sparse::FLASH_MAX_DV
            },
            grid: sparse::grid,
            loops: if naive {
                sparse::naive_loops
            } else {
                sparse::flash_loops
            },
            scratch: if naive {
                sparse::naive_scratch
            } else {
                sparse::no_scratch
            },
        },
        accumulator: Accumulator::F32,
        softmax: if naive {
            Softmax::TwoPass
        } else {
            Softmax::Online {
                key_tile: sparse::FLASH_SLOT_TILE,
            }
        },
    }
}

const INDEXER_COMMON: &str = include_str!("shaders/indexer_common.wgsl");
const INDEXER_DENSE_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::float("k"),
    Binding::f32("w"),
    Binding::bytes("ranges"),
];
const INDEXER_FP8_INPUTS: &[Binding] = &[
    Binding::bytes("q"),
    Binding::bytes("k"),
    Binding::f32("k_scale"),
    Binding::f32("w"),
    Binding::bytes("ranges"),
];

/// A sparse indexer kernel entry: `naive` or `tiled`, for dense inputs in every float variant or
/// (`fp8`) E4M3 codes with key scales in f32 only; the layout helper provides q_at, k_at, finish.
const fn indexer_kernel(
    name: &'static str,
    summary: &'static str,
    body: &'static str,
    fp8: bool,
    tiled: bool,
) -> WgslKernel {
    WgslKernel {
        op: Op::SparseIndexer,
        name,
        summary,
        body,
        inputs: if fp8 {
            INDEXER_FP8_INPUTS
        } else {
            INDEXER_DENSE_INPUTS
        },
        output: Binding::f32("logits"),
        entry_points: ONE_PASS,
        scratch: &[],
        helpers: if fp8 {
            &[
                QUANT_COMMON,
                INDEXER_COMMON,
                include_str!("shaders/indexer_fp8.wgsl"),
            ]
        } else {
            &[INDEXER_COMMON, include_str!("shaders/indexer_dense.wgsl")]
        },
        variants: if fp8 { F32_ONLY } else { FLOAT_VARIANTS },
        launch: Launch::SparseIndexer {
            fp8,
            loops: if tiled {
                indexer::tiled_loops
            } else {
                indexer::naive_loops
            },
            max_d: if tiled {
                indexer::TILED_MAX_D
            } else {
                usize::MAX
            },
        },
        accumulator: Accumulator::F32,
        softmax: Softmax::TwoPass,
    }
}

const INDEXER_NAIVE_BODY: &str = include_str!("shaders/indexer_naive.wgsl");
const INDEXER_TILED_BODY: &str = include_str!("shaders/indexer_tiled.wgsl");

const MLA_COMMON: &str = include_str!("shaders/mla_common.wgsl");
const MLA_DENSE: &str = include_str!("shaders/mla_kv_dense.wgsl");
const MLA_FP8: &str = include_str!("shaders/mla_kv_fp8.wgsl");
const MLA_DENSE_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::float("kv"),
    Binding::bytes("table"),
    Binding::bytes("lens"),
];
const MLA_FP8_INPUTS: &[Binding] = &[
    Binding::float("q"),
    Binding::bytes("kv"),
    Binding::bytes("table"),
    Binding::bytes("lens"),
];
/// The FP8-cache MLA kernels take bf16 queries, as FlashMLA does.
const BF16_ONLY: &[Variant] = &[Variant::portable(Precision::BF16)];

/// An MLA decode kernel entry: `naive` or `flash`, for a dense cache or (`fp8`) FlashMLA's FP8
/// layout; the layout helper provides `kv_at`.
const fn mla_kernel(
    name: &'static str,
    summary: &'static str,
    body: &'static str,
    fp8: bool,
    naive: bool,
) -> WgslKernel {
    WgslKernel {
        op: Op::Mla,
        name,
        summary,
        body,
        inputs: if fp8 {
            MLA_FP8_INPUTS
        } else {
            MLA_DENSE_INPUTS
        },
        output: Binding::f32("o"),
        scratch: if naive { &["scores"] } else { &[] },
        helpers: if fp8 {
            &[QUANT_COMMON, MLA_COMMON, MLA_FP8]
        } else {
            &[MLA_COMMON, MLA_DENSE]
        },
        variants: if fp8 { BF16_ONLY } else { FLOAT_VARIANTS },
        entry_points: ONE_PASS,
        launch: Launch::Mla {
            fp8,
            grid: mla::grid,
            loops: if naive {
                mla::naive_loops
            } else {
                mla::flash_loops
            },
            scratch: if naive {
                mla::naive_scratch
            } else {
                mla::no_scratch
            },
            max_latent: if naive {
                usize::MAX
            } else {
                mla::FLASH_MAX_LATENT
            },
        },
        accumulator: Accumulator::F32,
        softmax: if naive {
            Softmax::TwoPass
        } else {
            Softmax::Online {
                key_tile: mla::FLASH_KEY_TILE,
            }
        },
    }
}

/// A split-KV MLA decode kernel, over a dense cache or (`fp8`) FlashMLA's FP8 layout (the
/// layout helper provides `kv_at`, as for the one-pass kernels): splits of 64 tokens, then a
/// combine pass.
const fn mla_splitkv(name: &'static str, summary: &'static str, fp8: bool) -> WgslKernel {
    WgslKernel {
        scratch: &["partials"],
        entry_points: TWO_PASS,
        variants: if fp8 { BF16_ONLY } else { SPLIT_VARIANTS },
        launch: Launch::Mla {
            fp8,
            grid: mla::splitkv_grid,
            loops: mla::splitkv_loops,
            scratch: mla::splitkv_scratch,
            max_latent: mla::FLASH_MAX_LATENT,
        },
        softmax: Softmax::Online {
            key_tile: mla::SPLIT_KEYS,
        },
        ..mla_kernel(name, summary, MLA_SPLITKV_BODY, fp8, false)
    }
}

const MLA_SPLITKV_BODY: &str = include_str!("shaders/mla_splitkv.wgsl");
const MLA_NAIVE_BODY: &str = include_str!("shaders/mla_naive.wgsl");
const MLA_FLASH_BODY: &str = include_str!("shaders/mla_flash.wgsl");

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
    WgslKernel {
        scratch: &["partials"],
        entry_points: TWO_PASS,
        variants: SPLIT_VARIANTS,
        softmax: Softmax::Online {
            key_tile: attention::SPLIT_KEYS,
        },
        ..float(
            Op::Attention,
            "splitkv",
            "split-KV flash decode: a workgroup per split of 256 keys writes (max, sum, P·V) partials, a second pass merges them",
            include_str!("shaders/attention_splitkv.wgsl"),
            ATTENTION_INPUTS,
            "o",
            Launch::Attention {
                grid: attention::splitkv_grid,
                loops: attention::splitkv_loops,
                scratch: attention::splitkv_scratch,
                max_head_dim: attention::SPLIT_MAX_HEAD_DIM,
            },
        )
    },
    sparse_kernel(
        "naive",
        "a workgroup per (query, head): listed keys' scores to a scratch buffer, reduced max, exp, reduced sum, P·V",
        SPARSE_NAIVE_BODY,
        false,
        true,
    ),
    sparse_kernel(
        "flash",
        "a workgroup per (query, head): the list in tiles of 64 slots gathered into workgroup memory, online softmax, 8 output columns a lane in registers",
        SPARSE_FLASH_BODY,
        false,
        false,
    ),
    sparse_kernel(
        "naive_fp8",
        "the naive kernel over FlashMLA's FP8 KV cache (E4M3 × f32 scale per 128, bf16 rope)",
        SPARSE_NAIVE_BODY,
        true,
        true,
    ),
    sparse_kernel(
        "flash_fp8",
        "the flash kernel over FlashMLA's FP8 KV cache (E4M3 × f32 scale per 128, bf16 rope)",
        SPARSE_FLASH_BODY,
        true,
        false,
    ),
    indexer_kernel(
        "naive",
        "an invocation per (query, key): each head's f32 dot in order, relu, times its weight, summed in head order",
        INDEXER_NAIVE_BODY,
        false,
        false,
    ),
    indexer_kernel(
        "tiled",
        "a workgroup per (query, 64 keys): each head's query row staged once in workgroup memory, relu'd weighted head sums",
        INDEXER_TILED_BODY,
        false,
        true,
    ),
    indexer_kernel(
        "naive_fp8",
        "the naive kernel over E4M3 Q and K, the key's f32 scale after the head sum (DeepGEMM's fp8_mqa_logits)",
        INDEXER_NAIVE_BODY,
        true,
        false,
    ),
    indexer_kernel(
        "tiled_fp8",
        "the tiled kernel over E4M3 Q and K, the key's f32 scale after the head sum (DeepGEMM's fp8_mqa_logits)",
        INDEXER_TILED_BODY,
        true,
        true,
    ),
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
    WgslKernel {
        helpers: FP8_HELPERS,
        ..quantizer(
            false,
            QuantFamily::Fp8,
            "raw: a value per invocation; scaled: a workgroup per tile, reduced amax (f32 or UE8M0 scale)",
            include_str!("shaders/quantize_fp8.wgsl"),
        )
    },
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
    WgslKernel {
        helpers: FP8_HELPERS,
        ..quantizer(
            true,
            QuantFamily::Fp8,
            "a value per invocation: E4M3·scale (UE8M0: built exactly, rounded once)",
            include_str!("shaders/dequantize_fp8.wgsl"),
        )
    },
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
    WgslKernel {
        helpers: FP8_HELPERS,
        ..qmatmul(
            QuantFamily::Fp8,
            "an output per invocation: per 128-block, f32 dot of E4M3 products, times both scales (f32 or UE8M0)",
            include_str!("shaders/qmatmul_fp8.wgsl"),
            QUANTIZED_TIMES_QUANTIZED,
            Accumulator::F32,
        )
    },
    mla_kernel(
        "naive",
        "a workgroup per row: tokens through the block table, scores to scratch, reduced max and sum, P·V, LSE",
        MLA_NAIVE_BODY,
        false,
        true,
    ),
    mla_kernel(
        "flash",
        "a workgroup per row: tiles of 64 tokens, online softmax, 8 latent columns a lane in registers, LSE",
        MLA_FLASH_BODY,
        false,
        false,
    ),
    mla_splitkv(
        "splitkv",
        "split-KV flash decode: a workgroup per split of 64 tokens writes (max, sum, P·V) partials, a second pass merges them into O and the LSE",
        false,
    ),
    mla_kernel(
        "naive_fp8",
        "the naive kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        MLA_NAIVE_BODY,
        true,
        true,
    ),
    mla_kernel(
        "flash_fp8",
        "the flash kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        MLA_FLASH_BODY,
        true,
        false,
    ),
    mla_splitkv(
        "splitkv_fp8",
        "the split-KV kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        true,
    ),
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        ..quantizer(
            false,
            QuantFamily::Mx,
            "MX: a block of 32 per invocation, E8M0 floor scale (GGML's MXFP4: its log2f exponent), codes by integer rounding; raw E5M2 per value",
            include_str!("shaders/quantize_mx.wgsl"),
        )
    },
    mx_quantizer_under(
        "mx-ceil",
        "the MX quantizer under DeepGEMM's ceil scale rule (amax / max by exact division, rounded up to 2^e)",
        quant::quantize_launch_ceil,
    ),
    mx_quantizer_under(
        "mx-even",
        "the MX quantizer under torchao's even scale rule (amax rounded to the element's mantissa in its bits, then floor)",
        quant::quantize_launch_even,
    ),
    mx_quantizer_under(
        "mx-rceil",
        "the MX quantizer under torchao's rceil scale rule (amax · f32(1 / max), rounded up to 2^e)",
        quant::quantize_launch_rceil,
    ),
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        ..quantizer(
            false,
            QuantFamily::NvFp4,
            "one workgroup: reduced tensor amax, exact divisions, blocks of 16 shared out",
            include_str!("shaders/quantize_nvfp4.wgsl"),
        )
    },
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        ..quantizer(
            true,
            QuantFamily::Mx,
            "a value per invocation: element·2^(scale − 127) built and rounded in integer ops",
            include_str!("shaders/dequantize_mx.wgsl"),
        )
    },
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        ..quantizer(
            true,
            QuantFamily::NvFp4,
            "a value per invocation: e2m1·E4M3 scale·tensor scale",
            include_str!("shaders/dequantize_nvfp4.wgsl"),
        )
    },
    WgslKernel {
        helpers: SOFTFLOAT_HELPERS,
        ..quantizer(
            false,
            QuantFamily::KQuant,
            "a workgroup of 16 per super-block: ggml's search and requantization in integer IEEE arithmetic",
            include_str!("shaders/quantize_kquant.wgsl"),
        )
    },
    WgslKernel {
        helpers: KQUANT_HELPERS,
        ..quantizer(
            true,
            QuantFamily::KQuant,
            "a value per invocation: ggml's f32 operations, every product exact",
            include_str!("shaders/dequantize_kquant.wgsl"),
        )
    },
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        variants: W4A16_VARIANTS,
        ..qmatmul(
            QuantFamily::Mx,
            "an output per invocation: per block of 32, f32 dot with the elements, times the scales",
            include_str!("shaders/qmatmul_mx.wgsl"),
            QUANTIZED_TIMES_QUANTIZED,
            Accumulator::F32,
        )
    },
    WgslKernel {
        helpers: MINIFLOAT_HELPERS,
        variants: W4A16_VARIANTS,
        ..qmatmul(
            QuantFamily::NvFp4,
            "an output per invocation: per block of 16, f32 dot with e2m1 times the E4M3 scale; times s",
            include_str!("shaders/qmatmul_nvfp4.wgsl"),
            FLOAT_TIMES_QUANTIZED,
            Accumulator::F32,
        )
    },
    WgslKernel {
        helpers: KQUANT_HELPERS,
        ..qmatmul(
            QuantFamily::KQuant,
            "an output per invocation: each weight dequantized in f32, f32 dot in order",
            include_str!("shaders/qmatmul_kquant.wgsl"),
            F32_TIMES_QUANTIZED,
            Accumulator::F32,
        )
    },
    WgslKernel {
        helpers: BIAS_HELPERS,
        ..qmatmul(
            QuantFamily::W8A8Bias,
            "an output per invocation: i32 sums; i32 bias before both scales, f32/bf16 bias after",
            include_str!("shaders/qmatmul_w8a8_bias.wgsl"),
            QUANTIZED_TIMES_QUANTIZED,
            Accumulator::I32,
        )
    },
    qmatmul(
        QuantFamily::Antiquant,
        "an output per invocation: each weight (q + offset) · scale in f32, f32 dot in order",
        include_str!("shaders/qmatmul_antiquant.wgsl"),
        F32_TIMES_QUANTIZED,
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
    grouped(
        Op::MoeRouted,
        "fp8",
        "an output per invocation: per slot, per 128-block f32 dot of E4M3 codes times both scales, times its weight",
        include_str!("shaders/moe_routed_fp8.wgsl"),
        &[QUANT_COMMON, MOE_FP8_COMMON],
        moe::fp8,
    ),
];
