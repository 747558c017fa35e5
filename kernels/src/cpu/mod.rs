//! The `cpu` backend: native Rust kernels, f32 arithmetic, outputs rounded to nearest even.

mod attention_flash;
mod attention_naive;
mod attention_rows;
mod convert;
mod matmul_naive;
mod matmul_splitk;
mod matmul_tiled;
mod moe;
mod quant;

use crosscheck_spec::{
    Accumulator, AttentionProblem, Backend, DequantizeProblem, DeviceInfo, HostTensor, KernelError,
    KernelInfo, MatmulProblem, NumericContract, Op, OutputBuffer, Precision, Problem,
    QuantMatmulProblem, QuantizeProblem, Softmax, Variant, VariantInfo,
};

/// The CPU backend. Always available.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

/// A CPU kernel: the f32 output (row-major) from the inputs.
#[derive(Clone, Copy)]
enum Kernel {
    Matmul(fn(&MatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>),
    Attention(fn(&AttentionProblem, &HostTensor, &HostTensor, &HostTensor) -> Vec<f32>),
    Quantize(fn(&QuantizeProblem, &HostTensor) -> Vec<u8>),
    Dequantize(fn(&QuantizeProblem, &HostTensor) -> Vec<f32>),
    QuantMatmul(fn(&QuantMatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>),
    /// A MoE kernel (grouped GEMM or routed combination); `fp8` for FP8 operands.
    Moe {
        run: moe::MoeFn,
        fp8: bool,
    },
}

impl Kernel {
    /// The precisions it is built for: quantized kernels take f32 (activations and outputs)
    /// only, FP8 MoE kernels write f32 or bf16 (as DeepGEMM does), the rest every float.
    fn precisions(self) -> &'static [Precision] {
        match self {
            Kernel::Quantize(_) | Kernel::Dequantize(_) | Kernel::QuantMatmul(_) => {
                &[Precision::F32]
            }
            Kernel::Moe { fp8: true, .. } => &[Precision::F32, Precision::BF16],
            _ => &Precision::FLOATS,
        }
    }
}

/// One registered kernel.
struct Entry {
    op: Op,
    name: &'static str,
    summary: &'static str,
    kernel: Kernel,
    softmax: Softmax,
    /// A row's bits do not depend on the other rows of the launch.
    batch_invariant: bool,
}

/// The registry: one entry per kernel.
const KERNELS: &[Entry] = &[
    Entry {
        op: Op::Matmul,
        name: "naive",
        summary: "triple loop, one f32 dot product per output element",
        kernel: Kernel::Matmul(matmul_naive::matmul),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
    },
    Entry {
        op: Op::Matmul,
        name: "splitk",
        summary: "K cut in 4 partial sums when batch·m·n ≤ 256 (not batch-invariant, declared)",
        kernel: Kernel::Matmul(matmul_splitk::matmul),
        softmax: Softmax::TwoPass,
        batch_invariant: false,
    },
    Entry {
        op: Op::Matmul,
        name: "tiled",
        summary: "cache-blocked, 4-row register block, vectorisable inner loop, rayon threads",
        kernel: Kernel::Matmul(matmul_tiled::matmul),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
    },
    Entry {
        op: Op::Attention,
        name: "naive",
        summary: "materialised scores, row max, exp, sum, then P·V",
        kernel: Kernel::Attention(attention_naive::attention),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
    },
    Entry {
        op: Op::Attention,
        name: "flash",
        summary: "streaming over tiles of 32 keys with an online softmax (running max, rescaling)",
        kernel: Kernel::Attention(attention_flash::attention),
        softmax: Softmax::Online {
            key_tile: attention_flash::KEY_TILE,
        },
        batch_invariant: true,
    },
    quant(
        Op::Quantize,
        "q8_0",
        "blocks of 32 in parallel, d = amax/127, ties away from zero",
        Kernel::Quantize(quant::quantize::q8_0),
    ),
    quant(
        Op::Quantize,
        "q4_0",
        "blocks of 32 in parallel, d = signed max/−8, nibbles j | j+16",
        Kernel::Quantize(quant::quantize::q4_0),
    ),
    quant(
        Op::Quantize,
        "int8",
        "rows in parallel, scale = amax/127, ties away from zero",
        Kernel::Quantize(quant::quantize::int8),
    ),
    quant(
        Op::Quantize,
        "fp8",
        "E4M3 by bit manipulation; 1×128 / 128×128 scales = amax/448",
        Kernel::Quantize(quant::quantize::fp8),
    ),
    quant(
        Op::Dequantize,
        "q8_0",
        "d·q in f32",
        Kernel::Dequantize(quant::dequantize::q8_0),
    ),
    quant(
        Op::Dequantize,
        "q4_0",
        "d·(q − 8) in f32",
        Kernel::Dequantize(quant::dequantize::q4_0),
    ),
    quant(
        Op::Dequantize,
        "int8",
        "q·scale in f32",
        Kernel::Dequantize(quant::dequantize::int8),
    ),
    quant(
        Op::Dequantize,
        "fp8",
        "E4M3·scale in f32",
        Kernel::Dequantize(quant::dequantize::fp8),
    ),
    quant(
        Op::QuantMatmul,
        "q8_0",
        "per block: f32 dot of a·q, times d, summed in f32",
        Kernel::QuantMatmul(quant::qmatmul::q8_0),
    ),
    quant(
        Op::QuantMatmul,
        "q4_0",
        "per block: f32 dot of a·(q − 8), times d, summed in f32",
        Kernel::QuantMatmul(quant::qmatmul::q4_0),
    ),
    quant(
        Op::QuantMatmul,
        "int8",
        "i32 sums of int8 products, times both scales in f32",
        Kernel::QuantMatmul(quant::qmatmul::int8),
    ),
    quant(
        Op::QuantMatmul,
        "fp8",
        "per 128-block: f32 dot of E4M3 products, times both scales",
        Kernel::QuantMatmul(quant::qmatmul::fp8),
    ),
    moe(
        Op::MoeContiguous,
        "naive",
        "per owned row, one in-order f32 dot product per column; padding zeroed or skipped",
        moe::grouped_naive,
        false,
    ),
    moe(
        Op::MoeContiguous,
        "tiled",
        "tasks of 32 rows cut into runs of one expert, each through the tiled matmul block",
        moe::grouped_tiled,
        false,
    ),
    moe(
        Op::MoeContiguous,
        "fp8",
        "per owned row and column, per 128-block the f32 dot of E4M3 codes times both scales",
        moe::grouped_fp8,
        true,
    ),
    moe(
        Op::MoeContiguous,
        "fp8-tiled",
        "runs of one expert, per 128-block of k the code products through the tiled matmul block",
        moe::grouped_fp8_tiled,
        true,
    ),
    moe(
        Op::MoeMasked,
        "naive",
        "per row below masked_m, one in-order f32 dot product per column",
        moe::grouped_naive,
        false,
    ),
    moe(
        Op::MoeMasked,
        "tiled",
        "each expert's valid rows in tasks of 32 through the tiled matmul block",
        moe::grouped_tiled,
        false,
    ),
    moe(
        Op::MoeMasked,
        "fp8",
        "per valid row and column, per 128-block the f32 dot of E4M3 codes times both scales",
        moe::grouped_fp8,
        true,
    ),
    moe(
        Op::MoeMasked,
        "fp8-tiled",
        "each expert's valid rows, per 128-block of k through the tiled matmul block",
        moe::grouped_fp8_tiled,
        true,
    ),
    moe(
        Op::MoeRouted,
        "naive",
        "per token and column, per slot the in-order f32 dot product times its weight, summed",
        moe::routed_naive,
        false,
    ),
    moe(
        Op::MoeRouted,
        "tiled",
        "tokens gathered per expert through the tiled matmul block, then weighted sums in slot order",
        moe::routed_tiled,
        false,
    ),
];

/// A MoE kernel entry.
const fn moe(
    op: Op,
    name: &'static str,
    summary: &'static str,
    run: moe::MoeFn,
    fp8: bool,
) -> Entry {
    Entry {
        op,
        name,
        summary,
        kernel: Kernel::Moe { run, fp8 },
        softmax: Softmax::TwoPass,
        batch_invariant: true,
    }
}

/// A quantized kernel entry (the softmax schedule does not apply).
const fn quant(op: Op, name: &'static str, summary: &'static str, kernel: Kernel) -> Entry {
    Entry {
        op,
        name,
        summary,
        kernel,
        softmax: Softmax::TwoPass,
        batch_invariant: true,
    }
}

/// What the CPU kernels declare: IEEE f32 arithmetic (exact i32 sums for int8 × int8), the
/// platform's expf within 1 ulp and a computed 1/√d within 1.5 ulp, as
/// [`NumericContract::IEEE_F32`] states, with each kernel's softmax and batch invariance.
fn contract(entry: &Entry) -> NumericContract {
    let exact_int8 = entry.op == Op::QuantMatmul && entry.name == "int8";
    NumericContract {
        accumulator: if exact_int8 {
            Accumulator::I32
        } else {
            Accumulator::F32
        },
        softmax: entry.softmax,
        batch_invariant: entry.batch_invariant,
        ..NumericContract::IEEE_F32
    }
}

impl CpuBackend {
    fn entry(kernel: &str, op: Op) -> Result<&'static Entry, KernelError> {
        KERNELS
            .iter()
            .find(|e| e.name == kernel && e.op == op)
            .ok_or_else(|| KernelError::Unsupported(format!("cpu has no {op} kernel `{kernel}`")))
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn device(&self) -> DeviceInfo {
        let threads = rayon::current_num_threads();
        DeviceInfo {
            api: "cpu".into(),
            device: format!("{} ({threads} threads)", std::env::consts::ARCH),
            driver: "native Rust".into(),
        }
    }

    fn kernels(&self) -> Vec<KernelInfo> {
        KERNELS
            .iter()
            .map(|e| KernelInfo {
                op: e.op,
                name: e.name.to_string(),
                summary: e.summary.to_string(),
                variants: e
                    .kernel
                    .precisions()
                    .iter()
                    .map(|&p| VariantInfo::available(Variant::portable(p), contract(e)))
                    .collect(),
            })
            .collect()
    }

    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        problem.validate()?;
        if variant != Variant::portable(variant.precision) {
            return Err(KernelError::Unsupported(format!(
                "cpu kernels have no native {variant} path"
            )));
        }
        let entry = Self::entry(kernel, problem.op())?;
        if !entry.kernel.precisions().contains(&variant.precision) {
            return Err(KernelError::Unsupported(format!(
                "{kernel} is not built for {variant}"
            )));
        }
        let fp8_problem = match problem {
            Problem::MoeContiguous(p) => Some(p.fp8),
            Problem::MoeMasked(p) => Some(p.fp8),
            _ => None,
        };
        if let (Some(fp8), Kernel::Moe { fp8: takes, .. }) = (fp8_problem, entry.kernel) {
            if fp8 != takes {
                return Err(KernelError::Unsupported(format!(
                    "kernel `{kernel}` takes {} operands, the problem has {}",
                    if takes { "FP8" } else { "float" },
                    if fp8 { "FP8 ones" } else { "float ones" }
                )));
            }
        }
        let family = match problem {
            Problem::Quantize(q) | Problem::Dequantize(DequantizeProblem(q)) => {
                Some(q.format.family())
            }
            Problem::QuantMatmul(q) => Some(q.weights.family()),
            _ => None,
        };
        match family {
            Some(f) if f.name() != kernel => Err(KernelError::Unsupported(format!(
                "kernel `{kernel}` handles {kernel} formats, not {f}"
            ))),
            _ => Ok(()),
        }
    }

    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        self.check(kernel, variant, problem)?;
        problem.validate_buffers(variant, inputs, output)?;
        let result = match (Self::entry(kernel, problem.op())?.kernel, problem) {
            (Kernel::Matmul(f), Problem::Matmul(p)) => f(p, inputs[0], inputs[1]),
            (Kernel::Attention(f), Problem::Attention(p)) => f(p, inputs[0], inputs[1], inputs[2]),
            (Kernel::Quantize(f), Problem::Quantize(p)) => {
                output.payload_mut().copy_from_slice(&f(p, inputs[0]));
                return Ok(());
            }
            (Kernel::Dequantize(f), Problem::Dequantize(p)) => f(p, inputs[0]),
            (Kernel::QuantMatmul(f), Problem::QuantMatmul(p)) => f(p, inputs[0], inputs[1]),
            (Kernel::Moe { run, .. }, _) => {
                let rows = run(problem, inputs)?;
                convert::store_rows(&rows.values, rows.width, &rows.written, output);
                return Ok(());
            }
            _ => {
                return Err(KernelError::Unsupported(format!(
                    "`{kernel}` is not a {} kernel",
                    problem.op()
                )));
            }
        };
        convert::store(&result, output);
        Ok(())
    }
}
