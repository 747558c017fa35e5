//! Which quantized problems run: the default plan's fixed cases per format (ties, zero blocks,
//! outliers, short FP8 tiles), the random problems of the property tests and the soak, and the
//! smaller neighbours the shrinker tries.

use crosscheck_spec::{
    K_SUPER_BLOCK, QuantFamily, QuantFormat, QuantMatmulProblem, QuantizeProblem,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim};
use crate::generate::smaller::vary;

/// Fixed quantize cases per format: rounding ties, zero blocks, outliers, short FP8 tiles, blocks
/// spanning several 128-row bands, values beyond E4M3's range, and K-quant super-blocks that are
/// zero, subnormal, tiny, or hold NaN or ±∞ (`Specials` over six super-blocks).
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
    ("fp8-e5m2.r2c64", Distribution::Ties),
    ("fp8-e5m2.r3c50", Distribution::Beyond448),
    ("mxfp8-e4m3.r2c64", Distribution::Ties),
    ("mxfp8-e4m3.r4c64", Distribution::ZeroBlocks),
    ("mxfp8-e5m2.r2c64", Distribution::Ties),
    ("mxfp6-e2m3.r2c64", Distribution::Ties),
    ("mxfp6-e3m2.r2c64", Distribution::Ties),
    ("mxfp6-e3m2.r3c96", Distribution::Outliers),
    ("mxfp4.r2c64", Distribution::Ties),
    ("mxfp4.r3c96", Distribution::Normal),
    ("nvfp4.r2c64", Distribution::Ties),
    ("nvfp4.r3c48", Distribution::Outliers),
    ("nvfp4.r4c32", Distribution::ZeroBlocks),
    ("mxint8.r2c64", Distribution::Ties),
    ("mxint8.r3c96", Distribution::Outliers),
    ("ggml-mxfp4.r2c64", Distribution::Ties),
    ("ggml-mxfp4.r3c96", Distribution::Normal),
    ("ggml-mxfp4.r4c64", Distribution::ZeroBlocks),
    ("fp8-e4m3-1x128-ue8m0.r3c130", Distribution::Ties),
    ("fp8-e4m3-1x128-ue8m0.r2c300", Distribution::ZeroBlocks),
    ("fp8-e4m3-128x128-ue8m0.r130c129", Distribution::Outliers),
    ("q4_k.r2c256", Distribution::Normal),
    ("q4_k.r3c256", Distribution::Outliers),
    ("q4_k.r4c256", Distribution::ZeroBlocks),
    ("q4_k.r3c512", Distribution::Specials),
    ("q5_k.r2c256", Distribution::Normal),
    ("q5_k.r3c256", Distribution::Outliers),
    ("q5_k.r3c512", Distribution::Specials),
    ("q6_k.r2c256", Distribution::Normal),
    ("q6_k.r3c256", Distribution::Outliers),
    ("q6_k.r4c256", Distribution::ZeroBlocks),
    ("q6_k.r3c512", Distribution::Specials),
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
    ("fp8-e5m2.r2c64", Distribution::RandomBytes),
    ("mxfp8-e4m3.r2c64", Distribution::RandomBytes),
    ("mxfp8-e5m2.r2c64", Distribution::RandomBytes),
    ("mxfp6-e2m3.r2c64", Distribution::RandomBytes),
    ("mxfp6-e3m2.r3c64", Distribution::Normal),
    ("mxfp4.r2c64", Distribution::RandomBytes),
    ("nvfp4.r2c64", Distribution::RandomBytes),
    ("nvfp4.r3c32", Distribution::Normal),
    ("q4_k.r2c256", Distribution::Normal),
    ("q4_k.r1c256", Distribution::RandomBytes),
    ("q5_k.r2c256", Distribution::Normal),
    ("q5_k.r1c256", Distribution::RandomBytes),
    ("q6_k.r2c256", Distribution::Normal),
    ("q6_k.r1c256", Distribution::RandomBytes),
    ("mxint8.r2c64", Distribution::RandomBytes),
    ("ggml-mxfp4.r2c64", Distribution::RandomBytes),
    ("ggml-mxfp4.r3c64", Distribution::Normal),
    ("fp8-e4m3-1x128-ue8m0.r3c130", Distribution::RandomBytes),
    ("fp8-e4m3-128x128-ue8m0.r130c129", Distribution::Normal),
];

/// Fixed quantized-matmul cases: GEMV (m = 1) and GEMM shapes, every weight format (each
/// K-quant in both), FP8 (f32 and UE8M0 scales) with a short last block along k, W4A8 with both
/// activation layouts, each bias epilogue and both antiquant widths (several groups a row).
pub const QMATMUL_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.m1n64k256", Distribution::Normal),
    ("q8_0.m7n33k96", Distribution::Outliers),
    ("q4_0.m1n64k256", Distribution::Normal),
    ("q4_0.m7n33k96", Distribution::ZeroBlocks),
    ("int8.m1n64k300", Distribution::Normal),
    ("int8.m9n17k33", Distribution::Outliers),
    ("fp8-e4m3-128x128.m1n130k300", Distribution::Normal),
    ("fp8-e4m3-128x128.m5n7k129", Distribution::Outliers),
    ("mxfp4.m1n64k256", Distribution::Normal),
    ("mxfp4.m7n33k96", Distribution::Outliers),
    // W4A8: FP8 activations with 1×128 tiles (one short tile at k = 96, a short third at 320)
    // and with MXFP8 blocks of 32, over MXFP4 weights.
    ("mxfp4+fp8-e4m3-1x128.m1n64k256", Distribution::Normal),
    ("mxfp4+fp8-e4m3-1x128.m5n9k96", Distribution::Outliers),
    ("mxfp4+fp8-e4m3-1x128.m3n17k320", Distribution::ZeroBlocks),
    ("mxfp4+mxfp8-e4m3.m5n17k96", Distribution::Normal),
    ("mxfp6-e2m3.m2n9k64", Distribution::Normal),
    ("mxfp8-e4m3.m5n17k96", Distribution::Normal),
    ("mxfp8-e5m2.m3n9k64", Distribution::Outliers),
    ("nvfp4.m1n64k256", Distribution::Normal),
    ("nvfp4.m7n33k96", Distribution::ZeroBlocks),
    ("q4_k.m1n32k512", Distribution::Normal),
    ("q4_k.m6n9k256", Distribution::Outliers),
    ("q5_k.m1n17k256", Distribution::Outliers),
    ("q5_k.m3n17k256", Distribution::Normal),
    ("q6_k.m1n9k512", Distribution::Normal),
    ("q6_k.m5n9k256", Distribution::Outliers),
    ("w8a8-bias-i32.m9n17k33", Distribution::Normal),
    ("w8a8-bias-i32-s19.m3n9k64", Distribution::Outliers),
    ("w8a8-bias-f32.m5n17k40", Distribution::Normal),
    ("w8a8-bias-bf16.m5n17k40", Distribution::Normal),
    ("antiquant-w8-g64.m3n17k192", Distribution::Normal),
    ("antiquant-w4-g32.m5n9k128", Distribution::Outliers),
    ("fp8-e4m3-128x128-ue8m0.m1n130k300", Distribution::Normal),
    ("fp8-e4m3-128x128-ue8m0.m5n7k129", Distribution::Outliers),
    ("mxint8.m5n17k96", Distribution::Normal),
    ("mxint8.m3n9k64", Distribution::Outliers),
    ("ggml-mxfp4.m1n64k256", Distribution::Normal),
    ("ggml-mxfp4.m7n33k96", Distribution::Outliers),
];

/// The formats a quantized kernel of this name handles (its family), or all of them.
fn formats_of(family: &str) -> Vec<QuantFormat> {
    let mine: Vec<QuantFormat> = QuantFormat::ALL
        .into_iter()
        .filter(|f| f.family().name() == super::family_name(family))
        .collect();
    if mine.is_empty() {
        QuantFormat::ALL.to_vec()
    } else {
        mine
    }
}

/// Row lengths for a format: whole blocks (1 to 10 of 32 or 16, 1 or 2 K-quant super-blocks)
/// where it needs them, else any length in 1..=[`MAX_DIM`] (FP8 tiles then end short whenever
/// it is not a multiple of 128).
fn row_length(format: QuantFormat) -> BoxedStrategy<usize> {
    let block = format.row_block();
    match block {
        1 => dim(MAX_DIM).boxed(),
        K_SUPER_BLOCK => (1usize..=2).prop_map(|b| b * K_SUPER_BLOCK).boxed(),
        _ => (1usize..=10).prop_map(move |b| b * block).boxed(),
    }
}

/// Quantize/dequantize problems for a kernel family: rows in 1..=[`MAX_DIM`] (past 128, so
/// 128×128 FP8 blocks come in several rows; 1..=8 for the K-quants), and the format's row
/// lengths.
pub fn quantize_problems(family: &str) -> impl Strategy<Value = QuantizeProblem> + use<> {
    select(formats_of(family)).prop_flat_map(|format| {
        // K-quant super-blocks are independent and costly to search (thousands of f32
        // operations each, in integer arithmetic on WGSL): at most 8 rows of 1 or 2.
        let rows = if format.family() == QuantFamily::KQuant {
            (1usize..=8).boxed()
        } else {
            dim(MAX_DIM).boxed()
        };
        (rows, row_length(format)).prop_map(move |(rows, cols)| QuantizeProblem {
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
        .filter(|f| {
            !matches!(
                f,
                QuantFormat::Fp8E4M3
                    | QuantFormat::Fp8E4M3Tile
                    | QuantFormat::Fp8E4M3TileUe8m0
                    | QuantFormat::Fp8E5M2
            )
        })
        .collect();
    select(weights).prop_flat_map(|weights| {
        // The default activations, or one of the others the weights admit (W4A8).
        let mut choices = vec![None];
        choices.extend(
            QuantMatmulProblem::alternative_activations(weights)
                .iter()
                .map(|&a| Some(a)),
        );
        (select(choices), dim(64), dim(MAX_DIM), row_length(weights)).prop_map(
            move |(activation_choice, m, n, k)| QuantMatmulProblem {
                weights,
                activation_choice,
                m,
                n,
                k,
            },
        )
    })
}

/// The step a row length of `format` moves in: a whole block where the format needs them.
fn row_step(format: QuantFormat) -> usize {
    format.row_block()
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
