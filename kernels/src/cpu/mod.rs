//! The `cpu` backend: native Rust kernels, f32 arithmetic, outputs rounded to nearest even.

mod attention_flash;
mod attention_naive;
mod attention_rows;
mod attention_splitkv;
mod convert;
mod indexer_blocked;
mod indexer_naive;
mod indexer_operands;
mod matmul_naive;
mod matmul_splitk;
mod matmul_tiled;
mod mla_cache;
mod mla_flash;
mod mla_naive;
mod mla_splitkv;
mod moe;
mod quant;
mod sparse_flash;
mod sparse_kv;
mod sparse_naive;
mod splitkv_combine;

use crosscheck_spec::{
    Accumulator, AttentionProblem, Backend, DequantizeProblem, DeviceInfo, HostTensor, KernelError,
    KernelInfo, MatmulProblem, MlaProblem, NumericContract, Op, OutputBuffer, Precision, Problem,
    QuantFamily, QuantMatmulProblem, QuantizeProblem, ScaleRule, Softmax, SparseAttentionProblem,
    SparseIndexerProblem, Variant, VariantInfo,
};

/// The CPU backend. Always available.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

/// An indexer logits kernel: the problem, its inputs and its checked (ks, ke) ranges.
type IndexerFn = fn(&SparseIndexerProblem, &[&HostTensor], &[(usize, usize)]) -> Vec<f32>;

/// A CPU kernel: the f32 output (row-major) from the inputs.
#[derive(Clone, Copy)]
enum Kernel {
    Matmul(fn(&MatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>),
    Attention(fn(&AttentionProblem, &HostTensor, &HostTensor, &HostTensor) -> Vec<f32>),
    Quantize(fn(&QuantizeProblem, &HostTensor) -> Vec<u8>),
    /// MLA decode over (Q, KV, block table, cache lengths): O and the LSE, or a bad side input.
    Mla(fn(&MlaProblem, &[&HostTensor]) -> Result<Vec<f32>, KernelError>),
    Dequantize(fn(&QuantizeProblem, &HostTensor) -> Vec<f32>),
    QuantMatmul(fn(&QuantMatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>),
    /// Sparse attention: Q, KV and the decoded, checked index lists.
    Sparse(fn(&SparseAttentionProblem, &HostTensor, &HostTensor, &[i32]) -> Vec<f32>),
    /// Indexer logits: the inputs and the decoded, checked (ks, ke) ranges.
    SparseIndexer(IndexerFn),
    /// A MoE kernel (grouped GEMM or routed combination); `fp8` for FP8 operands.
    Moe {
        run: moe::MoeFn,
        fp8: bool,
    },
}

impl Kernel {
    /// Quantized kernels take f32 (activations and outputs) only.
    fn quantized(self) -> bool {
        matches!(
            self,
            Kernel::Quantize(_) | Kernel::Dequantize(_) | Kernel::QuantMatmul(_)
        )
    }

    /// The precisions it is built for: f32 for quantized kernels and the FP8 indexer kernels
    /// (raw codes in, f32 logits out) but f32 or bf16 for the MX and NVFP4 quantized matmuls
    /// (W4A16 with bf16 activations and output), bf16 queries for the FP8 KV-cache MLA and
    /// sparse kernels (as FlashMLA), f32 or bf16 outputs for the FP8 MoE kernels (as DeepGEMM),
    /// every float precision otherwise.
    fn takes(self, name: &str, precision: Precision) -> bool {
        match self {
            Kernel::QuantMatmul(_) if matches!(name, "mx" | "nvfp4") => {
                matches!(precision, Precision::F32 | Precision::BF16)
            }
            Kernel::Mla(_) | Kernel::Sparse(_) if name.ends_with("fp8") => {
                precision == Precision::BF16
            }
            Kernel::SparseIndexer(_) if name.ends_with("fp8") => precision == Precision::F32,
            Kernel::Moe { fp8: true, .. } => matches!(precision, Precision::F32 | Precision::BF16),
            k if k.quantized() => precision == Precision::F32,
            _ => true,
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
    /// Attention and MLA: a row's bits depend on its visible keys alone, not on the launch's key
    /// count or the block table's room (so chunked prefill and split counts leave them alone).
    keys_alone: bool,
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
        keys_alone: true,
    },
    Entry {
        op: Op::Matmul,
        name: "splitk",
        summary: "K cut in 4 partial sums when batch·m·n ≤ 256 (not batch-invariant, declared)",
        kernel: Kernel::Matmul(matmul_splitk::matmul),
        softmax: Softmax::TwoPass,
        batch_invariant: false,
        keys_alone: true,
    },
    Entry {
        op: Op::Matmul,
        name: "tiled",
        summary: "cache-blocked, 4-row register block, vectorisable inner loop, rayon threads",
        kernel: Kernel::Matmul(matmul_tiled::matmul),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Attention,
        name: "naive",
        summary: "materialised scores, row max, exp, sum, then P·V",
        kernel: Kernel::Attention(attention_naive::attention),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
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
        keys_alone: true,
    },
    Entry {
        op: Op::Attention,
        name: "splitkv",
        summary: "FlashDecoding's split-KV: the key range cut in 4 splits, online softmax per split, log-sum-exp combine (splits follow len_kv: not chunk- or split-invariant, declared)",
        kernel: Kernel::Attention(attention_splitkv::attention),
        softmax: Softmax::Online {
            key_tile: attention_splitkv::KEY_TILE,
        },
        batch_invariant: true,
        keys_alone: false,
    },
    Entry {
        op: Op::Sparse,
        name: "naive",
        summary: "a task per (query, head): the listed keys' scores materialised, max, exp, sum, P·V",
        kernel: Kernel::Sparse(sparse_naive::attention),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Sparse,
        name: "flash",
        summary: "a task per (query, kv head): each listed KV row read once for all its heads, online softmax over tiles of 32 slots",
        kernel: Kernel::Sparse(sparse_flash::attention),
        softmax: Softmax::Online {
            key_tile: sparse_flash::SLOT_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Sparse,
        name: "naive_fp8",
        summary: "the naive kernel over FlashMLA's FP8 KV cache (E4M3 × f32 scale per 128, bf16 rope), dequantized once",
        kernel: Kernel::Sparse(sparse_naive::attention),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Sparse,
        name: "flash_fp8",
        summary: "the flash kernel over FlashMLA's FP8 KV cache (E4M3 × f32 scale per 128, bf16 rope), dequantized once",
        kernel: Kernel::Sparse(sparse_flash::attention),
        softmax: Softmax::Online {
            key_tile: sparse_flash::SLOT_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "naive",
        summary: "per row: tokens read through the block table, materialised scores, two-pass softmax, LSE",
        kernel: Kernel::Mla(mla_naive::mla),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "flash",
        summary: "tokens decoded once per sequence for all heads, online softmax over tiles of 32, LSE",
        kernel: Kernel::Mla(mla_flash::mla),
        softmax: Softmax::Online {
            key_tile: mla_flash::KEY_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "splitkv",
        summary: "split-KV decode: each row's tokens cut in splits of 64 from its first, splits in parallel (online softmax over tiles of 32), log-sum-exp combine in split order, LSE",
        kernel: Kernel::Mla(mla_splitkv::mla),
        softmax: Softmax::Online {
            key_tile: mla_splitkv::KEY_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "naive_fp8",
        summary: "the naive kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        kernel: Kernel::Mla(mla_naive::mla),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "flash_fp8",
        summary: "the flash kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        kernel: Kernel::Mla(mla_flash::mla),
        softmax: Softmax::Online {
            key_tile: mla_flash::KEY_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::Mla,
        name: "splitkv_fp8",
        summary: "the split-KV kernel over FlashMLA's FP8 cache (E4M3 × f32 tile scales, bf16 rope)",
        kernel: Kernel::Mla(mla_splitkv::mla),
        softmax: Softmax::Online {
            key_tile: mla_splitkv::KEY_TILE,
        },
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::SparseIndexer,
        name: "naive",
        summary: "a task per query: per key in range, each head's f32 dot in order, relu, times its weight, summed in head order",
        kernel: Kernel::SparseIndexer(indexer_naive::logits),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::SparseIndexer,
        name: "blocked",
        summary: "a task per (query, 32 keys): each head's query row read once per tile, 8-lane dot products, relu, weighted head sums",
        kernel: Kernel::SparseIndexer(indexer_blocked::logits),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::SparseIndexer,
        name: "naive_fp8",
        summary: "the naive kernel over E4M3 Q and K, the key's f32 scale after the head sum (DeepGEMM's fp8_mqa_logits)",
        kernel: Kernel::SparseIndexer(indexer_naive::logits),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
    },
    Entry {
        op: Op::SparseIndexer,
        name: "blocked_fp8",
        summary: "the blocked kernel over E4M3 Q and K, the key's f32 scale after the head sum (DeepGEMM's fp8_mqa_logits)",
        kernel: Kernel::SparseIndexer(indexer_blocked::logits),
        softmax: Softmax::TwoPass,
        batch_invariant: true,
        keys_alone: true,
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
    quant(
        Op::Quantize,
        "mx",
        "MX blocks of 32: E8M0 floor scale, elements by integer rounding; raw E5M2 to ∞",
        Kernel::Quantize(quant::mx::quantize),
    ),
    quant(
        Op::Quantize,
        "mx-ceil",
        "as quantize/mx with DeepGEMM's ceil scale: the smallest 2^e ≥ amax / max",
        Kernel::Quantize(quant::mx::quantize_ceil),
    ),
    quant(
        Op::Quantize,
        "mx-even",
        "as quantize/mx with torchao's even scale: amax rounded to the element's mantissa, then floor",
        Kernel::Quantize(quant::mx::quantize_even),
    ),
    quant(
        Op::Quantize,
        "mx-rceil",
        "as quantize/mx with torchao's rceil scale: amax · f32(1 / max) rounded up to 2^e",
        Kernel::Quantize(quant::mx::quantize_rceil),
    ),
    quant(
        Op::Quantize,
        "nvfp4",
        "tensor scale amax/2688, E4M3 block scales, E2M1 codes, every step in f32",
        Kernel::Quantize(quant::nvfp4::quantize),
    ),
    quant(
        Op::Quantize,
        "kquant",
        "super-blocks in parallel: ggml's scale/min search and requantization, every step in f32",
        Kernel::Quantize(quant::kquant_quantize::quantize),
    ),
    quant(
        Op::Dequantize,
        "mx",
        "element·2^(scale − 127), rounded once to f32",
        Kernel::Dequantize(quant::mx::dequantize),
    ),
    quant(
        Op::Dequantize,
        "nvfp4",
        "e2m1·E4M3 scale·tensor scale, rounded once to f32",
        Kernel::Dequantize(quant::nvfp4::dequantize),
    ),
    quant(
        Op::Dequantize,
        "kquant",
        "ggml's f32 operations: d·sc·q − dmin·m (Q4_K, Q5_K), d·sc·(q − 32) (Q6_K)",
        Kernel::Dequantize(quant::kquant::dequantize),
    ),
    quant(
        Op::QuantMatmul,
        "mx",
        "per block of 32: f32 dot with the elements, times the power-of-two scales",
        Kernel::QuantMatmul(quant::mx::qmatmul),
    ),
    quant(
        Op::QuantMatmul,
        "nvfp4",
        "W4A16: per block of 16, f32 dot with e2m1 times the E4M3 scale; the sum times s",
        Kernel::QuantMatmul(quant::nvfp4::qmatmul),
    ),
    quant(
        Op::QuantMatmul,
        "kquant",
        "weight rows dequantized in f32, then f32 dot products",
        Kernel::QuantMatmul(quant::kquant::qmatmul),
    ),
    quant(
        Op::QuantMatmul,
        "w8a8-bias",
        "int8 × int8 summed in i32; i32 bias before the token × channel scales, f32/bf16 after",
        Kernel::QuantMatmul(quant::epilogue::w8a8_bias),
    ),
    quant(
        Op::QuantMatmul,
        "antiquant",
        "W8A16/W4A16: each weight (q + offset) · scale in f32, then f32 dot products",
        Kernel::QuantMatmul(quant::epilogue::antiquant),
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
    moe(
        Op::MoeRouted,
        "fp8",
        "per token, column and slot, per 128-block the f32 dot of E4M3 codes times both scales, times the weight",
        moe::routed_fp8,
        true,
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
        keys_alone: true,
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
        keys_alone: true,
    }
}

/// What the CPU kernels declare: IEEE f32 arithmetic (exact i32 sums for int8 × int8), the
/// platform's expf within 1 ulp and a computed 1/√d within 1.5 ulp, as
/// [`NumericContract::IEEE_F32`] states, with each kernel's softmax and batch invariance, and
/// chunked prefill giving one shot's bits for attention.
fn contract(entry: &Entry) -> NumericContract {
    let exact_int8 = entry.op == Op::QuantMatmul && matches!(entry.name, "int8" | "w8a8-bias");
    NumericContract {
        accumulator: if exact_int8 {
            Accumulator::I32
        } else {
            Accumulator::F32
        },
        softmax: entry.softmax,
        batch_invariant: entry.batch_invariant,
        // Every query row is computed from its visible keys alone, in key order from the first
        // (except where the kernel's splits follow the launch's key count).
        chunk_invariant: matches!(entry.op, Op::Attention | Op::Mla) && entry.keys_alone,
        split_invariant: matches!(entry.op, Op::Attention | Op::Mla) && entry.keys_alone,
        // The K-quant matmul dequantizes each weight and sums in the naive matmul's order. The
        // float MoE kernels sum each expert's dot products in increasing k from +0 (the tiled
        // ones through `matmul_tiled::block`, which keeps that order), as one matmul/naive per
        // expert does, and the routed ones add weight·dot over the slots in order from +0, as
        // the combining matmul/naive does.
        matches_unfused: (entry.op == Op::QuantMatmul && entry.name == "kquant")
            || matches!(entry.kernel, Kernel::Moe { fp8: false, .. }),
        // The MX quantizers named after a scale rule pick their scales by it.
        scale_rule: match (entry.op, entry.name) {
            (Op::Quantize, "mx-ceil") => ScaleRule::Ceil,
            (Op::Quantize, "mx-even") => ScaleRule::Even,
            (Op::Quantize, "mx-rceil") => ScaleRule::Rceil,
            _ => ScaleRule::Floor,
        },
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
                variants: Precision::FLOATS
                    .into_iter()
                    .filter(|&p| e.kernel.takes(e.name, p))
                    .map(|p| VariantInfo::available(Variant::portable(p), contract(e)))
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
        if !entry.kernel.takes(entry.name, variant.precision) {
            return Err(KernelError::Unsupported(format!(
                "`{kernel}` is not built for {variant}"
            )));
        }
        let fp8_problem = match problem {
            Problem::MoeContiguous(p) => Some(p.fp8),
            Problem::MoeMasked(p) => Some(p.fp8),
            Problem::MoeRouted(p) => Some(p.fp8),
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
            Problem::Mla(m) if m.fp8 != kernel.ends_with("fp8") => {
                return Err(KernelError::Unsupported(format!(
                    "`{kernel}` reads {} caches, not {}",
                    if m.fp8 { "dense" } else { "FP8" },
                    if m.fp8 { "FP8" } else { "dense" }
                )));
            }
            Problem::Sparse(x) if x.fp8 != kernel.ends_with("fp8") => {
                return Err(KernelError::Unsupported(format!(
                    "`{kernel}` reads {} KV, not {}",
                    if x.fp8 { "dense" } else { "FP8" },
                    if x.fp8 { "FP8" } else { "dense" }
                )));
            }
            Problem::SparseIndexer(x) if x.fp8 != kernel.ends_with("fp8") => {
                return Err(KernelError::Unsupported(format!(
                    "`{kernel}` reads {} inputs, not {}",
                    if x.fp8 { "dense" } else { "FP8" },
                    if x.fp8 { "FP8" } else { "dense" }
                )));
            }
            _ => None,
        };
        match family {
            Some(f) if QuantFamily::of_kernel(kernel) != Some(f) => Err(KernelError::Unsupported(
                format!("kernel `{kernel}` handles {kernel} formats, not {f}"),
            )),
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
            (Kernel::Mla(f), Problem::Mla(p)) => f(p, inputs)?,
            (Kernel::Sparse(f), Problem::Sparse(p)) => {
                f(p, inputs[0], inputs[1], &p.indices(&inputs[2].bytes)?)
            }
            (Kernel::SparseIndexer(f), Problem::SparseIndexer(p)) => {
                f(p, inputs, &p.ranges(&inputs[p.ranges_input()].bytes)?)
            }
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
