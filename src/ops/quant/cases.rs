//! Which quantized problems run: the default plan's fixed cases per format (ties, zero blocks,
//! outliers, short FP8 tiles), the random problems of the property tests and the soak, and the
//! smaller neighbours the shrinker tries.

use crosscheck_spec::{GGML_BLOCK, QuantFormat, QuantMatmulProblem, QuantizeProblem};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim};
use crate::generate::smaller::vary;

/// Fixed quantize cases per format: rounding ties, zero blocks, outliers, short FP8 tiles, blocks
/// spanning several 128-row bands, and values beyond E4M3's range.
pub const QUANTIZE_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.r1c32", Distribution::Ties),
    ("q8_0.r3c96", Distribution::Normal),
    ("q8_0.r4c64", Distribution::ZeroBlocks),
    ("q8_0.r2c320", Distribution::Outliers),
    ("q4_0.r1c32", Distribution::Ties),
    ("q4_0.r3c96", Distribution::Normal),
    ("q4_0.r4c64", Distribution::ZeroBlocks),
    ("q4_0.r2c320", Distribution::Outliers),
    ("int8.r1c1", Distribution::Normal),
    ("int8.r7c33", Distribution::Ties),
    ("int8.r3c300", Distribution::Outliers),
    ("int8.r4c17", Distribution::ZeroBlocks),
    ("fp8-e4m3.r3c50", Distribution::Beyond448),
    ("fp8-e4m3.r2c64", Distribution::Ties),
    ("fp8-e4m3-1x128.r3c130", Distribution::Ties),
    ("fp8-e4m3-1x128.r2c300", Distribution::Normal),
    ("fp8-e4m3-128x128.r130c129", Distribution::Outliers),
    ("fp8-e4m3-128x128.r5c7", Distribution::ZeroBlocks),
    ("q8_0.r2c64", Distribution::Specials),
    ("q4_0.r2c64", Distribution::Specials),
    ("int8.r3c40", Distribution::Specials),
    ("fp8-e4m3.r2c64", Distribution::Specials),
    ("fp8-e4m3-1x128.r2c130", Distribution::Specials),
];

/// Fixed dequantize cases: reference-encoded blocks and random bytes, per format.
pub const DEQUANTIZE_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.r3c96", Distribution::Normal),
    ("q8_0.r2c64", Distribution::RandomBytes),
    ("q4_0.r3c96", Distribution::Normal),
    ("q4_0.r2c64", Distribution::RandomBytes),
    ("int8.r3c33", Distribution::Outliers),
    ("int8.r2c17", Distribution::RandomBytes),
    ("fp8-e4m3.r2c64", Distribution::RandomBytes),
    ("fp8-e4m3-1x128.r3c130", Distribution::Normal),
    ("fp8-e4m3-128x128.r130c129", Distribution::RandomBytes),
];

/// Fixed quantized-matmul cases: GEMV and GEMM shapes, every weight format, FP8 with a short
/// last block along k.
pub const QMATMUL_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.m1n64k256", Distribution::Normal),
    ("q8_0.m7n33k96", Distribution::Outliers),
    ("q4_0.m1n64k256", Distribution::Normal),
    ("q4_0.m7n33k96", Distribution::ZeroBlocks),
    ("int8.m1n64k300", Distribution::Normal),
    ("int8.m9n17k33", Distribution::Outliers),
    ("fp8-e4m3-128x128.m1n130k300", Distribution::Normal),
    ("fp8-e4m3-128x128.m5n7k129", Distribution::Outliers),
];

/// The formats a quantized kernel of this name handles (its family), or all of them.
fn formats_of(family: &str) -> Vec<QuantFormat> {
    let mine: Vec<QuantFormat> = QuantFormat::ALL
        .into_iter()
        .filter(|f| f.family().name() == family)
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
pub fn quantize_problems(family: &str) -> impl Strategy<Value = QuantizeProblem> + use<> {
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
pub fn qmatmul_problems(family: &str) -> impl Strategy<Value = QuantMatmulProblem> + use<> {
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

/// The step a row length of `format` moves in: a whole GGML block where the format needs them.
fn row_step(format: QuantFormat) -> usize {
    if format.check_cols(1).is_err() {
        GGML_BLOCK
    } else {
        1
    }
}

/// Smaller quantize or dequantize problems: fewer rows, shorter rows (whole blocks).
pub fn smaller_quantize(p: &QuantizeProblem) -> Vec<QuantizeProblem> {
    [
        vary(p, 1, |p| p.rows, |p, v| p.rows = v),
        vary(p, row_step(p.format), |p| p.cols, |p, v| p.cols = v),
    ]
    .concat()
}

/// Smaller quantized matmuls: fewer tokens or channels, shorter products (whole blocks).
pub fn smaller_qmatmul(p: &QuantMatmulProblem) -> Vec<QuantMatmulProblem> {
    [
        vary(p, 1, |p| p.m, |p, v| p.m = v),
        vary(p, 1, |p| p.n, |p, v| p.n = v),
        vary(p, row_step(p.weights), |p| p.k, |p, v| p.k = v),
    ]
    .concat()
}
