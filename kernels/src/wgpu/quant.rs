//! Launch geometry, parameters and loop counts of the WGSL quantized kernels.

use crosscheck_spec::{
    FP8_TILE, GGML_BLOCK, Precision, QuantFamily, QuantFormat, QuantMatmulProblem, QuantizeProblem,
    ScaleRule, Variant,
};

/// WGSL `Params` of quantize and dequantize kernels.
/// `kind` is the element type of the `mx` kernels and the K-quant of the `kquant` kernels
/// ([`element_kind`]); `packing` says which layout of the family it is ([`layout`]).
pub const QUANT_PARAMS_WGSL: &str = "struct Params {
    rows: u32, cols: u32, tile_rows: u32, count: u32,
    kind: u32, packing: u32, rule: u32, pad2: u32,
}
";

/// WGSL `Params` of quantized matmuls.
/// `w_kind` and `a_kind` are the weights' and the activations' [`element_kind`], except for
/// activations that are not MX blocks: 5 f32, 8 FP8 E4M3 in 1×128 tiles, 9 bf16; `w_layout` is
/// the weights' [`layout`].
pub const QMATMUL_PARAMS_WGSL: &str = "struct Params {
    m: u32, n: u32, k: u32, blocks: u32,
    w_kind: u32, a_kind: u32, w_layout: u32, pad1: u32,
}
";

/// The element type of an `mx` format as `minifloat.wgsl` numbers it (0 E4M3, 1 E5M2, 2 E2M3,
/// 3 E3M2, 4 E2M1; GGML's MXFP4 is 4 too) or 6 for MXINT8's int8 elements, the K-quant of a `kquant` format (0 Q4_K, 1 Q5_K, 2 Q6_K), the epilogue of
/// a `w8a8-bias` format (0 i32 bias, 1 i32 bias with 19-bit scales, 2 f32 bias, 3 bf16 bias) or
/// the code width of an `antiquant` format (0 int8, 1 int4); 0 otherwise.
pub fn element_kind(format: QuantFormat) -> u32 {
    match format {
        QuantFormat::MxFp8E5M2
        | QuantFormat::Fp8E5M2
        | QuantFormat::Q5K
        | QuantFormat::W8A8BiasI32S19
        | QuantFormat::AntiquantW4G32 => 1,
        QuantFormat::MxFp6E2M3 | QuantFormat::Q6K | QuantFormat::W8A8BiasF32 => 2,
        QuantFormat::MxFp6E3M2 | QuantFormat::W8A8BiasBf16 => 3,
        QuantFormat::MxFp4 | QuantFormat::GgmlMxFp4 => 4,
        QuantFormat::MxInt8 => 6,
        _ => 0,
    }
}

/// Which layout of its family a format has: 1 for GGML's `block_mxfp4` in the `mx` kernels
/// (Q4_0's nibble order, ggml's exponent and tie rule, 0xFF a number) and for the UE8M0 scale
/// bytes in the `fp8` kernels; 0 otherwise.
pub fn layout(format: QuantFormat) -> u32 {
    match format {
        QuantFormat::GgmlMxFp4 | QuantFormat::Fp8E4M3TileUe8m0 | QuantFormat::Fp8E4M3BlockUe8m0 => {
            1
        }
        _ => 0,
    }
}

/// The `a_kind` of f32 activations.
const F32_ACTIVATIONS: u32 = 5;

/// The `a_kind` of FP8 E4M3 activations with an f32 scale per 1×128 tile (W4A8).
const FP8_TILE_ACTIVATIONS: u32 = 8;

/// The `a_kind` of bf16 activations (the bf16 variant of W4A16).
const BF16_ACTIVATIONS: u32 = 9;

/// The `a_kind` of `p`'s activations in `variant`.
fn activation_kind(p: &QuantMatmulProblem, variant: Variant) -> u32 {
    match p.activations() {
        None if variant.precision == Precision::BF16 => BF16_ACTIVATIONS,
        None => F32_ACTIVATIONS,
        Some(QuantFormat::Fp8E4M3Tile) => FP8_TILE_ACTIVATIONS,
        Some(format) => element_kind(format),
    }
}

/// Loop iterations of one `div_rn` (its long division).
const DIV_LOOPS: u64 = 25;

/// Loop iterations of one `sf_sqrt` (softfloat.wgsl: a root bit per iteration).
const SQRT_LOOPS: u64 = 26;

/// Workgroups along x in one launch row (WebGPU's default limit per dimension).
const MAX_GRID_X: usize = 65_535;

/// Loop iterations of one lane of `quantize_kquant.wgsl`, every loop as written: the search's
/// state machine runs one iteration per f32 operation (plus a division's 25 or a square root's
/// 26 inside it), then come the super-block's loops.
fn kquant_quantize_loops(format: QuantFormat) -> u64 {
    match format {
        // make_qx_quants over 16 values: the load loop; 1 division, 16 values of 9 operations,
        // 2 more; 18 candidates of 3 + 16·9 + 2 + 2 operations and 16 copied codes; 1 + 1 +
        // 2·18 divisions. Then the 16-scale maximum, 2 divisions, 16 requantized values (a
        // division each) and at most 14 byte-loop iterations (the zero fill).
        QuantFormat::Q6K => {
            let ops = 1 + 16 * 9 + 2 + 18 * (3 + 16 * 9 + 2 + 2);
            16 + ops + 18 * 16 + 38 * DIV_LOOPS + 16 + 2 * DIV_LOOPS + 16 * (1 + DIV_LOOPS) + 14
        }
        // make_qkx2_quants over 32 values: the load loop; 64 operations for Σx², 2 for av_x, 32
        // weights, 1 + 31·3 for the sums, 3 for the first scale, 32·9 for the first codes and
        // errors; per step at most 5 + 32·9 + 3 + 9 + 32·6 operations and 32 copied codes;
        // 3 + 4·(nstep + 1) divisions and a square root. Then the 8-sub-block maxima, 4
        // divisions, 16 requantized values, 4 header, 2·(1 + 4) qh and 8 code-byte iterations.
        _ => {
            let nstep: u64 = if format == QuantFormat::Q4K { 20 } else { 15 };
            let ops =
                64 + 2 + 32 + 1 + 31 * 3 + 3 + 32 * 9 + (nstep + 1) * (5 + 32 * 9 + 3 + 9 + 32 * 6);
            32 + ops
                + (nstep + 1) * 32
                + (3 + 4 * (nstep + 1)) * DIV_LOOPS
                + SQRT_LOOPS
                + 8
                + 4 * DIV_LOOPS
                + 16 * (1 + DIV_LOOPS)
                + 4
                + 2 * 5
                + 8
        }
    }
}

/// Rows per scale tile of an FP8 format (0: unscaled); 1 for the MX block formats.
fn tile_rows(format: QuantFormat) -> usize {
    match format.fp8_tile_rows() {
        Some(rows) => rows,
        None if format.family() == QuantFamily::Mx && format != QuantFormat::Fp8E5M2 => 1,
        None => 0,
    }
}

/// Scale tiles of a scaled FP8 matrix.
fn fp8_tiles(p: &QuantizeProblem) -> usize {
    p.rows.div_ceil(tile_rows(p.format).max(1)) * p.cols.div_ceil(FP8_TILE)
}

fn params(p: &QuantizeProblem, count: usize) -> Vec<u8> {
    params_under(p, count, ScaleRule::Floor)
}

/// The MX quantizer's `rule` word: 0 OCP's floor, 1 DeepGEMM's ceil, 2 torchao's even, 3 its
/// rceil (`quantize_mx.wgsl`).
fn rule_word(rule: ScaleRule) -> usize {
    match rule {
        ScaleRule::Floor => 0,
        ScaleRule::Ceil => 1,
        ScaleRule::Even => 2,
        ScaleRule::Rceil => 3,
    }
}

fn params_under(p: &QuantizeProblem, count: usize, rule: ScaleRule) -> Vec<u8> {
    [
        p.rows,
        p.cols,
        tile_rows(p.format),
        count,
        element_kind(p.format) as usize,
        layout(p.format) as usize,
        rule_word(rule),
        0,
    ]
    .iter()
    .flat_map(|&v| (v as u32).to_le_bytes())
    .collect()
}

/// Work items of a quantize launch: blocks (GGML, MX), rows (int8), values (raw FP8, NVFP4's
/// one workgroup) or tiles.
fn quantize_items(p: &QuantizeProblem) -> usize {
    match p.format {
        QuantFormat::Int8 => p.rows,
        QuantFormat::Fp8E4M3 | QuantFormat::Fp8E5M2 | QuantFormat::NvFp4 => p.rows * p.cols,
        _ if p.format.fp8_tile_rows().is_some() => fp8_tiles(p),
        _ => p.rows * p.cols / p.format.row_block(),
    }
}

/// Quantize: (workgroups, params). GGML and MX blocks and raw FP8 run one invocation per item
/// in workgroups of 64; int8 rows and FP8 tiles run one workgroup per item, K-quant
/// super-blocks one workgroup of 16 each; NVFP4 (whose tensor scale needs every value) one
/// workgroup for the whole tensor.
pub fn quantize_launch(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    let items = quantize_items(p);
    let workgroups = match p.format {
        QuantFormat::Int8 => items,
        _ if p.format.fp8_tile_rows().is_some() => items,
        QuantFormat::NvFp4 => 1,
        // A workgroup of 16 per super-block, rows of at most 65,535 workgroups.
        _ if p.format.family() == QuantFamily::KQuant => {
            return (
                [items.min(MAX_GRID_X), items.div_ceil(MAX_GRID_X), 1],
                params(p, items),
            );
        }
        _ => items.div_ceil(64),
    };
    ([workgroups, 1, 1], params(p, items))
}

/// [`quantize_launch`] of the MX quantizer under DeepGEMM's ceil scale rule.
pub fn quantize_launch_ceil(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    mx_launch_under(p, ScaleRule::Ceil)
}

/// [`quantize_launch`] of the MX quantizer under torchao's even scale rule.
pub fn quantize_launch_even(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    mx_launch_under(p, ScaleRule::Even)
}

/// [`quantize_launch`] of the MX quantizer under torchao's rceil scale rule.
pub fn quantize_launch_rceil(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    mx_launch_under(p, ScaleRule::Rceil)
}

/// The MX quantizer's launch with its `rule` word set.
fn mx_launch_under(p: &QuantizeProblem, rule: ScaleRule) -> ([usize; 3], Vec<u8>) {
    let (workgroups, _) = quantize_launch(p);
    (workgroups, params_under(p, quantize_items(p), rule))
}

/// Dequantize: one invocation per value.
pub fn dequantize_launch(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    let values = p.rows * p.cols;
    ([values.div_ceil(64), 1, 1], params(p, values))
}

/// Loop iterations one quantize invocation runs, counting every loop as written (a `div_rn`
/// is 25) and the 6-step workgroup reduction.
pub fn quantize_loops(p: &QuantizeProblem) -> u64 {
    let per_lane = |values: usize| values.div_ceil(64) as u64;
    match p.format {
        QuantFormat::Q8_0 => 32 + 2 * DIV_LOOPS + 32,
        QuantFormat::Q4_0 => 32 + 2 * DIV_LOOPS + 16,
        QuantFormat::Int8 => per_lane(p.cols) * (2 + DIV_LOOPS) + DIV_LOOPS + 6,
        QuantFormat::Fp8E4M3 | QuantFormat::Fp8E5M2 => 0,
        _ if p.format.fp8_tile_rows().is_some() => {
            per_lane(tile_rows(p.format).min(p.rows) * p.cols.min(FP8_TILE)) * (2 + DIV_LOOPS)
                + DIV_LOOPS
                + 6
        }
        // The tensor loop, three reductions, two divisions, then per block of 16 its loop
        // (the amax loop, three divisions and the 8-byte code loop).
        QuantFormat::NvFp4 => {
            per_lane(p.rows * p.cols)
                + 3 * 6
                + 2 * DIV_LOOPS
                + per_lane(p.rows * p.cols / 16) * (1 + 16 + 3 * DIV_LOOPS + 8)
        }
        QuantFormat::Q4K | QuantFormat::Q5K | QuantFormat::Q6K => kquant_quantize_loops(p.format),
        // MX: the amax loop and the code loop over 32 values (GGML's MXFP4: 16 bytes), and
        // the divisions of the ceil and rceil scale rules.
        _ => 64 + 2 * DIV_LOOPS,
    }
}

/// Dequantizers have no loops.
pub fn dequantize_loops(_: &QuantizeProblem) -> u64 {
    0
}

/// Quantized matmul in `variant`: 16×16 outputs per workgroup, and (m, n, k, blocks along k,
/// the weights' and activations' kinds).
pub fn qmatmul_launch(p: &QuantMatmulProblem, variant: Variant) -> ([usize; 3], Vec<u8>) {
    let blocks = match p.weights {
        QuantFormat::Int8 | QuantFormat::Fp8E4M3Block | QuantFormat::Fp8E4M3BlockUe8m0 => {
            p.k.div_ceil(FP8_TILE)
        }
        _ => p.k / p.weights.row_block(),
    };
    let a_kind = activation_kind(p, variant);
    let params = [
        p.m,
        p.n,
        p.k,
        blocks,
        element_kind(p.weights) as usize,
        a_kind as usize,
        layout(p.weights) as usize,
        0,
    ]
    .iter()
    .flat_map(|&v| (v as u32).to_le_bytes())
    .collect();
    ([p.n.div_ceil(16), p.m.div_ceil(16), 1], params)
}

/// Loop iterations of one quantized-matmul invocation: the k products and the block loop.
pub fn qmatmul_loops(p: &QuantMatmulProblem) -> u64 {
    (p.k + p.k.div_ceil(GGML_BLOCK) + 1) as u64
}
