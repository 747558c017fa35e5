//! Benchmark workloads: realistic problem sizes per op, with the floating-point work and the
//! minimum bytes each must move (what roofline fractions are computed from).

use crosscheck_spec::{
    AttentionProblem, DEEPGEMM_ALIGNMENT, Grouping, Layout, MatmulProblem, MlaProblem,
    MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem, Op, Padding, Problem, QuantFormat,
    QuantMatmulProblem, QuantizeProblem, SparseAttentionProblem, SparseIndexerProblem, Variant,
};

use crate::verify::large::problem as square_matmul;

/// One problem to time.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short label, e.g. `1024³`, `decode kv4096`.
    pub label: String,
    /// Position on a size axis (matmul: the side; otherwise the index).
    pub size: f64,
    /// The problem.
    pub problem: Problem,
    /// Floating-point (or integer multiply-add) operations, counting a multiply-add as two.
    pub flops: f64,
    /// Bytes that must cross memory at least once: inputs read and output written.
    pub bytes: f64,
}

/// The workloads of `op` for kernel family `kernel`, matmuls at `sizes`.
pub fn workloads(op: Op, kernel: &str, variant: Variant, sizes: &[usize]) -> Vec<Workload> {
    let element = variant.precision.bytes() as f64;
    match op {
        Op::Matmul => sizes
            .iter()
            .map(|&s| {
                let p: MatmulProblem = square_matmul(s, s, s);
                let s = s as f64;
                Workload {
                    label: format!("{s}³"),
                    size: s,
                    problem: Problem::Matmul(p),
                    flops: 2.0 * s * s * s,
                    bytes: 3.0 * s * s * element,
                }
            })
            .collect(),
        Op::Attention => {
            let decode = AttentionProblem {
                batch: 1,
                heads_q: 32,
                heads_kv: 8,
                len_q: 1,
                len_kv: 4096,
                d_qk: 128,
                d_v: 128,
                causal: false,
                window: None,
                scale_bits: None,
            };
            let prefill = AttentionProblem {
                batch: 1,
                heads_q: 8,
                heads_kv: 8,
                len_q: 512,
                len_kv: 512,
                d_qk: 64,
                d_v: 64,
                causal: true,
                window: None,
                scale_bits: None,
            };
            [
                ("decode q1 kv4096 h32/8 d128", decode),
                ("prefill q512 kv512 h8 d64 causal", prefill),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (label, p))| {
                let pairs = (p.batch * p.heads_q * p.len_q * p.len_kv) as f64;
                let visible = if p.causal { 0.5 } else { 1.0 };
                let flops = 2.0 * pairs * visible * (p.d_qk + p.d_v) as f64;
                let q = p.batch * p.heads_q * p.len_q * p.d_qk;
                let kv = p.batch * p.heads_kv * p.len_kv * (p.d_qk + p.d_v);
                let o = p.batch * p.heads_q * p.len_q * p.d_v;
                Workload {
                    label: label.into(),
                    size: i as f64,
                    problem: Problem::Attention(p),
                    flops,
                    bytes: (q + kv + o) as f64 * element,
                }
            })
            .collect()
        }
        Op::Mla => {
            // DeepSeek V3's decode: 128 query heads over one 576-wide latent head, 64-token pages.
            let p = MlaProblem {
                batch: 1,
                heads_q: 128,
                seq_q: 1,
                d_latent: 512,
                d_rope: 64,
                page: 64,
                blocks: 16,
                causal: false,
                fp8: crate::ops::mla::fp8_kernel(kernel),
                scale_bits: None,
            };
            let tokens = (p.blocks * p.page) as f64;
            let kv_bytes = if p.fp8 {
                p.fp8_token_bytes() as f64
            } else {
                p.d_qk() as f64 * element
            };
            let rows = (p.batch * p.heads_q * p.seq_q) as f64;
            vec![Workload {
                label: "decode h128 kv1024 576/512 p64".into(),
                size: 0.0,
                problem: Problem::Mla(p),
                flops: 2.0 * rows * tokens * (p.d_qk() + p.d_latent) as f64,
                bytes: tokens * kv_bytes
                    + rows * p.d_qk() as f64 * element
                    + rows * (p.d_latent + 1) as f64 * 4.0,
            }]
        }
        Op::QuantMatmul => {
            let weights = weight_format(kernel);
            [
                ("gemv 1x4096x4096", 1, 4096, 4096),
                ("gemm 256x1024x1024", 256, 1024, 1024),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (label, m, n, k))| {
                let p = QuantMatmulProblem::new(weights, m, n, k);
                let w = weights.encoded_len(n, k) as f64;
                Workload {
                    label: label.into(),
                    size: i as f64,
                    problem: Problem::QuantMatmul(p),
                    flops: 2.0 * (m * n * k) as f64,
                    bytes: w
                        + 4.0 * (m * n) as f64
                        + p.activations()
                            .map_or(4.0 * (m * k) as f64, |f| f.encoded_len(m, k) as f64),
                }
            })
            .collect()
        }
        Op::Sparse => {
            // DeepSeek Sparse Attention decoding: MQA over MLA's 576/512 latent, 2048 slots.
            let p = SparseAttentionProblem {
                len_q: 4,
                len_kv: 8192,
                heads_q: 16,
                heads_kv: 1,
                d_qk: 576,
                d_v: 512,
                topk: 2048,
                scale_bits: None,
                fp8: false,
            };
            let pairs = (p.len_q * p.heads_q * p.topk) as f64;
            // Q, the KV rows the lists name (at most every slot once per query), O, the lists.
            let q = p.len_q * p.heads_q * p.d_qk;
            let kv = (p.len_q * p.topk).min(p.len_kv) * p.d_qk;
            let o = p.len_q * p.heads_q * p.d_v;
            vec![Workload {
                label: "dsa decode q4 h16 kv8192 top2048 576/512".into(),
                size: 0.0,
                problem: Problem::Sparse(p),
                flops: 2.0 * pairs * (p.d_qk + p.d_v) as f64,
                bytes: (q + kv + o) as f64 * element + 4.0 * (p.len_q * p.topk) as f64,
            }]
        }
        Op::SparseIndexer => {
            // DeepSeek-V3.2's indexer over a 4096-token context: 64 heads of 128, a prefill
            // chunk of 64 queries; FP8 inputs for the `_fp8` kernels.
            let fp8 = kernel.ends_with("fp8");
            let p = SparseIndexerProblem {
                len_q: 64,
                len_kv: 4096,
                heads: 64,
                d: 128,
                fp8,
            };
            let element = if fp8 { 1.0 } else { element };
            let q = (p.len_q * p.heads * p.d) as f64 * element + 4.0 * (p.len_q * p.heads) as f64;
            let k =
                (p.len_kv * p.d) as f64 * element + if fp8 { 4.0 * p.len_kv as f64 } else { 0.0 };
            let logits = 4.0 * (p.len_q * p.len_kv) as f64;
            vec![Workload {
                label: "indexer q64 kv4096 h64 d128".into(),
                size: 0.0,
                problem: Problem::SparseIndexer(p),
                flops: 2.0 * (p.len_q * p.len_kv * p.heads) as f64 * (p.d + 1) as f64,
                bytes: q + k + logits + 8.0 * p.len_q as f64,
            }]
        }
        Op::MoeContiguous | Op::MoeMasked | Op::MoeRouted => moe(op, kernel, element),
        Op::Quantize | Op::Dequantize => {
            let format = weight_format(kernel);
            let p = QuantizeProblem {
                format,
                rows: 1024,
                cols: 2048,
            };
            let values = (p.rows * p.cols) as f64;
            let bytes = values * 4.0 + format.encoded_len(p.rows, p.cols) as f64;
            let problem = if op == Op::Quantize {
                Problem::Quantize(p)
            } else {
                Problem::dequantize(p)
            };
            vec![Workload {
                label: "1024x2048".into(),
                size: 0.0,
                problem,
                flops: values,
                bytes,
            }]
        }
    }
}

/// MoE workloads, DeepSeek-shaped but scaled to a CPU and a software GPU: a prefill through the
/// contiguous layout (8 experts, DeepGEMM's 128-row alignment), a decode through the masked layout
/// (32 experts of up to 32 rows) and a decode through the routed combination (16 tokens, 64
/// experts, top-8). Flops and bytes count every row the problem reserves.
fn moe(op: Op, kernel: &str, element: f64) -> Vec<Workload> {
    let fp8 = kernel.starts_with("fp8");
    let (n, k) = (512, 1024);
    let (a_bytes, b_bytes) = if fp8 { (1.0, 1.0) } else { (element, element) };
    let (label, problem, rows, experts) = match op {
        Op::MoeContiguous => {
            let p = MoeContiguousProblem {
                experts: 8,
                m: 8 * DEEPGEMM_ALIGNMENT,
                n,
                k,
                alignment: DEEPGEMM_ALIGNMENT,
                grouping: Grouping::Indices,
                padding: Padding::Zero,
                b_layout: Layout::ColMajor,
                fp8,
            };
            (
                "prefill e8 m1024",
                Problem::MoeContiguous(p),
                p.m,
                p.experts,
            )
        }
        Op::MoeMasked => {
            let p = MoeMaskedProblem {
                experts: 32,
                max_m: 32,
                n,
                k,
                padding: Padding::Zero,
                b_layout: Layout::ColMajor,
                fp8,
            };
            (
                "decode e32 m32",
                Problem::MoeMasked(p),
                p.experts * p.max_m,
                p.experts,
            )
        }
        _ => {
            let p = MoeRoutedProblem {
                tokens: 16,
                experts: 64,
                top_k: 8,
                n,
                k,
                b_layout: Layout::ColMajor,
                fp8,
            };
            (
                "decode t16 e64 top8",
                Problem::MoeRouted(p),
                p.tokens * p.top_k,
                p.experts,
            )
        }
    };
    vec![Workload {
        label: label.into(),
        size: 0.0,
        problem,
        flops: 2.0 * (rows * n * k) as f64,
        bytes: (rows * k) as f64 * a_bytes
            + (experts * n * k) as f64 * b_bytes
            + (rows * n) as f64 * element,
    }]
}

/// The weight format benchmarked for a kernel family (FP8 as DeepGEMM's 128×128 blocks).
fn weight_format(family: &str) -> QuantFormat {
    match family {
        "q8_0" => QuantFormat::Q8_0,
        "q4_0" => QuantFormat::Q4_0,
        "int8" => QuantFormat::Int8,
        _ => QuantFormat::Fp8E4M3Block,
    }
}
