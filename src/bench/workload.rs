//! Benchmark workloads: realistic problem sizes per op, with the floating-point work and the
//! minimum bytes each must move (what roofline fractions are computed from).

use crosscheck_spec::{
    AttentionProblem, DEEPGEMM_ALIGNMENT, Grouping, Layout, MatmulProblem, MoeContiguousProblem,
    MoeMaskedProblem, MoeRoutedProblem, Op, Padding, Problem, QuantFormat, QuantMatmulProblem,
    QuantizeProblem, Variant,
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
        Op::QuantMatmul => {
            let weights = weight_format(kernel);
            [
                ("gemv 1x4096x4096", 1, 4096, 4096),
                ("gemm 256x1024x1024", 256, 1024, 1024),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (label, m, n, k))| {
                let p = QuantMatmulProblem { weights, m, n, k };
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
