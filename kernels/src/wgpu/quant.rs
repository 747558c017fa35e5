//! Launch geometry, parameters and loop counts of the WGSL quantized kernels.

use crosscheck_spec::{FP8_TILE, GGML_BLOCK, QuantFormat, QuantMatmulProblem, QuantizeProblem};

/// WGSL `Params` of quantize and dequantize kernels.
pub const QUANT_PARAMS_WGSL: &str = "struct Params {
    rows: u32, cols: u32, tile_rows: u32, count: u32,
}
";

/// WGSL `Params` of quantized matmuls.
pub const QMATMUL_PARAMS_WGSL: &str = "struct Params {
    m: u32, n: u32, k: u32, blocks: u32,
}
";

/// Loop iterations of one `div_rn` (its long division).
const DIV_LOOPS: u64 = 25;

/// Rows per scale tile of an FP8 format (0: unscaled).
fn tile_rows(format: QuantFormat) -> usize {
    match format {
        QuantFormat::Fp8E4M3Tile => 1,
        QuantFormat::Fp8E4M3Block => FP8_TILE,
        _ => 0,
    }
}

/// Scale tiles of a scaled FP8 matrix.
fn fp8_tiles(p: &QuantizeProblem) -> usize {
    p.rows.div_ceil(tile_rows(p.format).max(1)) * p.cols.div_ceil(FP8_TILE)
}

fn params(p: &QuantizeProblem, count: usize) -> Vec<u8> {
    [p.rows, p.cols, tile_rows(p.format), count]
        .iter()
        .flat_map(|&v| (v as u32).to_le_bytes())
        .collect()
}

/// Work items of a quantize launch: blocks (GGML), rows (int8), values (raw FP8) or tiles.
fn quantize_items(p: &QuantizeProblem) -> usize {
    match p.format {
        QuantFormat::Q8_0 | QuantFormat::Q4_0 => p.rows * p.cols / GGML_BLOCK,
        QuantFormat::Int8 => p.rows,
        QuantFormat::Fp8E4M3 => p.rows * p.cols,
        QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3Block => fp8_tiles(p),
    }
}

/// Quantize: (workgroups, params). GGML formats and raw FP8 run one invocation per item in
/// workgroups of 64; int8 rows and FP8 tiles run one workgroup per item.
pub fn quantize_launch(p: &QuantizeProblem) -> ([usize; 3], Vec<u8>) {
    let items = quantize_items(p);
    let per_workgroup = match p.format {
        QuantFormat::Q8_0 | QuantFormat::Q4_0 | QuantFormat::Fp8E4M3 => items.div_ceil(64),
        _ => items,
    };
    ([per_workgroup, 1, 1], params(p, items))
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
        QuantFormat::Fp8E4M3 => 0,
        QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3Block => {
            per_lane(tile_rows(p.format).min(p.rows) * p.cols.min(FP8_TILE)) * (2 + DIV_LOOPS)
                + DIV_LOOPS
                + 6
        }
    }
}

/// Dequantizers have no loops.
pub fn dequantize_loops(_: &QuantizeProblem) -> u64 {
    0
}

/// Quantized matmul: 16×16 outputs per workgroup, and (m, n, k, blocks along k).
pub fn qmatmul_launch(p: &QuantMatmulProblem) -> ([usize; 3], Vec<u8>) {
    let blocks = match p.weights {
        QuantFormat::Q8_0 | QuantFormat::Q4_0 => p.k / GGML_BLOCK,
        _ => p.k.div_ceil(FP8_TILE),
    };
    let params = [p.m, p.n, p.k, blocks]
        .iter()
        .flat_map(|&v| (v as u32).to_le_bytes())
        .collect();
    ([p.n.div_ceil(16), p.m.div_ceil(16), 1], params)
}

/// Loop iterations of one quantized-matmul invocation: the k products and the block loop.
pub fn qmatmul_loops(p: &QuantMatmulProblem) -> u64 {
    (p.k + p.k.div_ceil(GGML_BLOCK) + 1) as u64
}
