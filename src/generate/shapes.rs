//! proptest strategies over problems and cases. Dimensions are biased towards 1, primes and
//! tile sizes ±1, where edge bugs live; everything shrinks towards the smallest shape.

use crosscheck_spec::{
    AttentionProblem, GGML_BLOCK, Layout, MatmulProblem, Op, Problem, QuantFormat,
    QuantMatmulProblem, QuantizeProblem, Variant,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::{Case, Distribution};

/// Largest dimension the default strategies draw.
pub const MAX_DIM: usize = 300;

const PRIMES: [usize; 20] = [
    2, 3, 5, 7, 11, 13, 17, 31, 37, 61, 67, 97, 101, 127, 131, 193, 199, 251, 257, 293,
];
const NEAR_TILES: [usize; 15] = [
    15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
];

/// One dimension in 1..=max: 1, a prime, a tile size ±1, or anything, shrinking towards 1.
pub fn dim(max: usize) -> impl Strategy<Value = usize> + Clone {
    let primes: Vec<usize> = PRIMES.iter().copied().filter(|&p| p <= max).collect();
    let tiles: Vec<usize> = NEAR_TILES.iter().copied().filter(|&t| t <= max).collect();
    prop_oneof![
        2 => Just(1usize),
        3 => select(primes),
        3 => select(tiles),
        4 => 1..=max,
    ]
}

/// Either layout.
pub fn layout() -> impl Strategy<Value = Layout> + Clone {
    prop_oneof![Just(Layout::RowMajor), Just(Layout::ColMajor)]
}

/// Matmul problems: batch 1..=3, m, n, k in 1..=[`MAX_DIM`], any layouts, B broadcast or not.
pub fn matmul_problem() -> impl Strategy<Value = MatmulProblem> {
    (
        1usize..=3,
        dim(MAX_DIM),
        dim(MAX_DIM),
        dim(MAX_DIM),
        layout(),
        layout(),
        any::<bool>(),
    )
        .prop_map(
            |(batch, m, n, k, a_layout, b_layout, b_broadcast)| MatmulProblem {
                batch,
                m,
                n,
                k,
                a_layout,
                b_layout,
                b_broadcast,
            },
        )
}

/// Any input distribution of `op`.
pub fn distribution(op: Op) -> impl Strategy<Value = Distribution> {
    select(Distribution::for_op(op).to_vec())
}

/// Multiply-adds an attention case may cost (b·h_q·len_q·len_kv·(d_qk + d_v)), so that a
/// property's cases stay fast on a software GPU; larger draws are rejected and redrawn.
pub const ATTENTION_WORK_BUDGET: usize = 16_000_000;

/// Head widths: equal widths from the common set, multi-head latent attention's 192/128, or any
/// pair in 1..=256.
pub fn head_dims() -> impl Strategy<Value = (usize, usize)> {
    let common = [1usize, 2, 3, 8, 16, 32, 40, 64, 80, 96, 128, 256];
    prop_oneof![
        4 => select(common.to_vec()).prop_map(|d| (d, d)),
        1 => Just((192usize, 128usize)),
        2 => (dim(256), dim(256)),
    ]
}

/// Attention problems: batch 1..=3, heads_kv 1..=3 with heads_q / heads_kv in {1, 2, 4, 8}
/// (heads_kv 1 is MQA), len_q and len_kv in 1..=[`MAX_DIM`], [`head_dims`], causal or not, a
/// sliding window or not, the default scale or a custom one; at most [`ATTENTION_WORK_BUDGET`].
pub fn attention_problem() -> impl Strategy<Value = AttentionProblem> {
    let batch = prop_oneof![3 => Just(1usize), 1 => 2usize..=3];
    let heads_kv = prop_oneof![3 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)];
    let ratio = select(vec![1usize, 2, 4, 8]);
    let window = prop_oneof![2 => Just(None), 1 => dim(MAX_DIM).prop_map(Some)];
    let scale = prop_oneof![3 => Just(None), 1 => select(vec![0.5f32, 0.125, 1.0, 0.3, 2.0]).prop_map(Some)];
    (
        batch,
        heads_kv,
        ratio,
        dim(MAX_DIM),
        dim(MAX_DIM),
        head_dims(),
        any::<bool>(),
        window,
        scale,
    )
        .prop_map(
            |(batch, heads_kv, ratio, len_q, len_kv, (d_qk, d_v), causal, window, scale)| {
                AttentionProblem {
                    batch,
                    heads_q: heads_kv * ratio,
                    heads_kv,
                    len_q,
                    len_kv,
                    d_qk,
                    d_v,
                    causal,
                    window,
                    scale_bits: scale.map(f32::to_bits),
                }
            },
        )
        .prop_filter("attention work budget", |p| {
            Problem::Attention(*p).work() <= ATTENTION_WORK_BUDGET
        })
}

/// The formats a quantized kernel of this name handles (its family), or all of them.
fn formats_of(family: &str) -> Vec<QuantFormat> {
    let mine: Vec<QuantFormat> = QuantFormat::ALL
        .into_iter()
        .filter(|f| f.family() == family)
        .collect();
    if mine.is_empty() {
        QuantFormat::ALL.to_vec()
    } else {
        mine
    }
}

/// Row lengths for a format: whole GGML blocks (32 to 320) where it needs them, else any
/// length in 1..=[`MAX_DIM`] (FP8 tiles then end short whenever it is not a multiple of 128).
fn row_length(format: QuantFormat) -> BoxedStrategy<usize> {
    if format.check_cols(1).is_err() {
        (1usize..=10).prop_map(|b| b * GGML_BLOCK).boxed()
    } else {
        dim(MAX_DIM).boxed()
    }
}

/// Quantize/dequantize problems for a kernel family: rows in 1..=[`MAX_DIM`] (past 128, so
/// 128×128 FP8 blocks come in several rows), and the format's row lengths.
pub fn quantize_problem(family: &str) -> impl Strategy<Value = QuantizeProblem> + use<> {
    select(formats_of(family)).prop_flat_map(|format| {
        (dim(MAX_DIM), row_length(format)).prop_map(move |(rows, cols)| QuantizeProblem {
            format,
            rows,
            cols,
        })
    })
}

/// Quantized matmuls for a weight family: m in 1..=64 tokens, n in 1..=[`MAX_DIM`] channels and k
/// as the weights' rows allow (short last 128-blocks for FP8).
pub fn qmatmul_problem(family: &str) -> impl Strategy<Value = QuantMatmulProblem> + use<> {
    let weights: Vec<QuantFormat> = formats_of(family)
        .into_iter()
        .filter(|f| !matches!(f, QuantFormat::Fp8E4M3 | QuantFormat::Fp8E4M3Tile))
        .collect();
    select(weights).prop_flat_map(|weights| {
        (dim(64), dim(MAX_DIM), row_length(weights)).prop_map(move |(m, n, k)| QuantMatmulProblem {
            weights,
            m,
            n,
            k,
        })
    })
}

/// Cases for one (backend, kernel, variant) cell of `op`.
pub fn case(op: Op, backend: &str, kernel: &str, variant: Variant) -> BoxedStrategy<Case> {
    let problem = match op {
        Op::Matmul => matmul_problem().prop_map(Problem::Matmul).boxed(),
        Op::Attention => attention_problem().prop_map(Problem::Attention).boxed(),
        Op::Quantize => quantize_problem(kernel).prop_map(Problem::Quantize).boxed(),
        Op::Dequantize => quantize_problem(kernel)
            .prop_map(Problem::Dequantize)
            .boxed(),
        Op::QuantMatmul => qmatmul_problem(kernel)
            .prop_map(Problem::QuantMatmul)
            .boxed(),
    };
    let (backend, kernel) = (backend.to_string(), kernel.to_string());
    (problem, distribution(op), any::<u64>())
        .prop_map(move |(problem, distribution, seed)| Case {
            kernel: kernel.clone(),
            backend: backend.clone(),
            variant,
            problem,
            distribution,
            seed,
        })
        .boxed()
}

/// Matmul cases for one (backend, kernel, variant) cell.
pub fn matmul_case(backend: &str, kernel: &str, variant: Variant) -> BoxedStrategy<Case> {
    case(Op::Matmul, backend, kernel, variant)
}
