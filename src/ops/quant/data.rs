//! Quantized inputs: f32 values for quantize and for quantized-matmul operands (encoded by the
//! reference codec where the problem wants bytes), and bytes for dequantize. Distributions are
//! defined per the format's unit — a block of 32, a row, or a scale tile — so that zero blocks,
//! outliers and ties land where the format's scales are computed.

use crosscheck_reference::formats::minifloat::{self, Minifloat};
use crosscheck_reference::{codec, quant};
use crosscheck_spec::{
    FP8_TILE, GGML_BLOCK, HostTensor, Layout, Precision, QuantFamily, QuantFormat,
    QuantMatmulProblem, QuantizeProblem,
};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, sprinkle_specials, stream, tensor, uniform};

/// X (f32) for quantize.
pub fn quantize_inputs(p: &QuantizeProblem, dist: Distribution, seed: u64) -> Vec<HostTensor> {
    let values = values(p.format, p.rows, p.cols, dist, &mut stream(seed, 0));
    vec![tensor(
        vec![p.rows, p.cols],
        Layout::RowMajor,
        Precision::F32,
        &values,
    )]
}

/// Q (bytes) for dequantize: reference-encoded values, or random bytes.
pub fn dequantize_inputs(p: &QuantizeProblem, dist: Distribution, seed: u64) -> Vec<HostTensor> {
    let mut rng = stream(seed, 0);
    let bytes = match dist {
        Distribution::RandomBytes => random_bytes(p.format, p.rows, p.cols, &mut rng),
        _ => quant::encode(
            p.format,
            p.rows,
            p.cols,
            &values(p.format, p.rows, p.cols, dist, &mut rng),
        ),
    };
    vec![bytes_tensor(bytes)]
}

/// The unquantized operands of a quantized matmul, regenerated from the case's seed: A (m×k)
/// and W (n×k) before quantization, and the per-channel biases of the bias epilogues (in
/// integer-sum units for an i32 bias, output units otherwise; empty for other formats).
pub struct Operands {
    /// A's f32 values (f16 values for antiquant, whose activations are 16-bit).
    pub a: Vec<f32>,
    /// W's f32 values.
    pub w: Vec<f32>,
    /// One bias per output channel, or none.
    pub bias: Vec<f32>,
}

/// [`Operands`] of a case.
pub fn qmatmul_operands(p: &QuantMatmulProblem, dist: Distribution, seed: u64) -> Operands {
    let a_format = p.activations().unwrap_or(QuantFormat::Fp8E4M3); // unit layout for f32 activations
    let mut a = values(a_format, p.m, p.k, dist, &mut stream(seed, 0));
    if p.weights.family() == QuantFamily::Antiquant {
        a = codec::quantize(Precision::F16, &a);
    }
    let w = values(p.weights, p.n, p.k, dist, &mut stream(seed, 1));
    let bias = match p.weights.family() {
        QuantFamily::W8A8Bias => {
            // A product's typical size: √k · 42² in integer units (normal codes spread over
            // ±127 at 3σ), √k in output units.
            let typical = match p.weights {
                QuantFormat::W8A8BiasI32 | QuantFormat::W8A8BiasI32S19 => 1764.0,
                _ => 1.0,
            } * (p.k as f32).sqrt();
            let rng = &mut stream(seed, 2);
            (0..p.n).map(|_| normal(rng) * typical).collect()
        }
        _ => Vec::new(),
    };
    Operands { a, w, bias }
}

/// A (bytes, or unquantized in `precision`, the variant's: f32 or bf16) and W (bytes) for a
/// quantized matmul.
pub fn qmatmul_inputs(
    p: &QuantMatmulProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let ops = qmatmul_operands(p, dist, seed);
    let a = match p.activations() {
        None => tensor(vec![p.m, p.k], Layout::RowMajor, precision, &ops.a),
        Some(format) => bytes_tensor(quant::encode(format, p.m, p.k, &ops.a)),
    };
    let w = if ops.bias.is_empty() {
        quant::encode(p.weights, p.n, p.k, &ops.w)
    } else {
        quant::epilogue::encode_bias(p.weights, p.n, p.k, &ops.w, &ops.bias)
    };
    vec![a, bytes_tensor(w)]
}

fn bytes_tensor(bytes: Vec<u8>) -> HostTensor {
    HostTensor {
        shape: vec![bytes.len()],
        layout: Layout::RowMajor,
        precision: Precision::U8,
        bytes,
    }
}

/// The unit of element `i` of a rows × cols matrix: the group that shares a scale (or, for raw
/// FP8, a run of 32), and the number of units.
fn unit_of(format: QuantFormat, rows: usize, cols: usize, i: usize) -> usize {
    let (r, c) = (i / cols, i % cols);
    let tiles_per_row = cols.div_ceil(FP8_TILE);
    match format {
        QuantFormat::Q8_0 | QuantFormat::Q4_0 | QuantFormat::Fp8E4M3 => i / GGML_BLOCK,
        QuantFormat::Int8
        | QuantFormat::W8A8BiasI32
        | QuantFormat::W8A8BiasI32S19
        | QuantFormat::W8A8BiasF32
        | QuantFormat::W8A8BiasBf16 => r,
        QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3TileUe8m0 => {
            r * tiles_per_row + c / FP8_TILE
        }
        QuantFormat::Fp8E4M3Block | QuantFormat::Fp8E4M3BlockUe8m0 => {
            (r / FP8_TILE) * tiles_per_row + c / FP8_TILE
        }
        // A K-quant's 6-bit scales and mins belong to sub-blocks of 32.
        QuantFormat::Fp8E5M2 | QuantFormat::Q4K | QuantFormat::Q5K | QuantFormat::Q6K => {
            i / GGML_BLOCK
        }
        _ => i / format.row_block(),
    }
    .min(rows * cols)
}

/// f32 values of a rows × cols matrix to be stored in `format`.
fn values(
    format: QuantFormat,
    rows: usize,
    cols: usize,
    dist: Distribution,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let n = rows * cols;
    let units = (0..n)
        .map(|i| unit_of(format, rows, cols, i))
        .max()
        .map_or(0, |u| u + 1);
    match dist {
        Distribution::Uniform => (0..n).map(|_| uniform(rng)).collect(),
        Distribution::ZeroBlocks => {
            let zero: Vec<bool> = (0..units).map(|_| rng.random_range(0..4) == 0).collect();
            (0..n)
                .map(|i| {
                    if zero[unit_of(format, rows, cols, i)] {
                        0.0
                    } else {
                        normal(rng)
                    }
                })
                .collect()
        }
        Distribution::Outliers => {
            let mut v: Vec<f32> = (0..n).map(|_| normal(rng)).collect();
            for run in v.chunks_mut(GGML_BLOCK) {
                let at = rng.random_range(0..run.len());
                run[at] *= 1000.0;
            }
            v
        }
        Distribution::Ties => ties(format, rows, cols, units, rng),
        Distribution::Specials if format.family() == QuantFamily::KQuant => kquant_specials(n, rng),
        // −0 and subnormals everywhere; ±∞ and NaN only where the format defines them (raw E4M3).
        Distribution::Specials => {
            let mut v: Vec<f32> = (0..n).map(|_| normal(rng)).collect();
            sprinkle_specials(&mut v, Precision::F32, format == QuantFormat::Fp8E4M3, rng);
            v
        }
        // E5M2 goes 128 times further (its largest is 57344, ∞ from the tie at 61440 up).
        Distribution::Beyond448 if format == QuantFormat::Fp8E5M2 => (0..n)
            .map(|_| {
                let v = if rng.random_range(0..8) == 0 {
                    [57344.0, 61440.0, 61439.996, 65536.0][rng.random_range(0..4)]
                } else {
                    rng.random_range(0.0f32..2000.0) * 128.0
                };
                if rng.random::<bool>() { -v } else { v }
            })
            .collect(),
        Distribution::Beyond448 => (0..n)
            .map(|_| {
                let special = format == QuantFormat::Fp8E4M3 && rng.random_range(0..16) == 0;
                let v = if special {
                    [f32::INFINITY, f32::NAN, 448.0, 464.0][rng.random_range(0..4)]
                } else {
                    rng.random_range(0.0f32..2000.0)
                };
                if rng.random::<bool>() { -v } else { v }
            })
            .collect(),
        _ => (0..n).map(|_| normal(rng)).collect(),
    }
}

/// K-quant super-blocks of every kind the reference codec defines (docs/formats.md, GGML
/// K-quants), in turn: all zero (with −0s), all f32 subnormals, small normals (around 2⁻⁴³,
/// whose weighted squared errors w·diff² are subnormal, so that a kernel flushing subnormals
/// keeps other candidates of the scale search), normal values with −0s and subnormals and one NaN,
/// normal values with ±∞, and normal values. ggml's C is defined on all of them once
/// `nearest_int` is read literally; NaNs are the quiet NaN 0x7fc00000.
fn kquant_specials(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let super_block = crosscheck_spec::K_SUPER_BLOCK;
    let mut v: Vec<f32> = (0..n).map(|_| normal(rng)).collect();
    for (b, block) in v.chunks_mut(super_block).enumerate() {
        match b % 6 {
            0 => block
                .iter_mut()
                .for_each(|x| *x = if rng.random::<bool>() { -0.0 } else { 0.0 }),
            1 => block.iter_mut().for_each(|x| {
                *x = f32::from_bits(rng.random_range(1u32..0x0080_0000))
                    * if rng.random::<bool>() { -1.0 } else { 1.0 }
            }),
            2 => block
                .iter_mut()
                .for_each(|x| *x *= crosscheck_spec::pow2_f32(-43)),
            3 => {
                sprinkle_specials(block, Precision::F32, false, rng);
                let at = rng.random_range(0..block.len());
                block[at] = f32::NAN;
            }
            4 => {
                for _ in 0..3 {
                    let at = rng.random_range(0..block.len());
                    block[at] = if rng.random::<bool>() {
                        f32::INFINITY
                    } else {
                        f32::NEG_INFINITY
                    };
                }
            }
            _ => {}
        }
    }
    v
}

/// Values on the format's rounding ties and thresholds. Each unit gets a power-of-two scale
/// 2^e (so scales and their reciprocals are exact), its first element the largest magnitude
/// (127·2^e, ±8·2^e or 448·2^e), and the others codes that land exactly on a tie: k + ½ for
/// Q8_0 and int8, N − 8.5 (and its f32 neighbours) for Q4_0, midpoints between E4M3 codes.
fn ties(
    format: QuantFormat,
    rows: usize,
    cols: usize,
    units: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    if format == QuantFormat::NvFp4 {
        return nvfp4_ties(rows * cols, rng);
    }
    let signs = |rng: &mut ChaCha8Rng| if rng.random::<bool>() { -1.0f32 } else { 1.0 };
    let unit_scale: Vec<(f32, f32)> = (0..units)
        .map(|_| {
            (
                crosscheck_spec::pow2_f32(rng.random_range(-4..=4)),
                signs(rng),
            )
        })
        .collect();
    let mut seen = vec![false; units];
    (0..rows * cols)
        .map(|i| {
            let u = unit_of(format, rows, cols, i);
            let (scale, unit_sign) = unit_scale[u];
            let first = !std::mem::replace(&mut seen[u], true);
            match format {
                QuantFormat::Q8_0 | QuantFormat::Int8 if first => unit_sign * 127.0 * scale,
                QuantFormat::Q8_0 | QuantFormat::Int8 => {
                    signs(rng) * (rng.random_range(-127..=126) as f32 + 0.5) * scale
                }
                // m = ±8·scale makes d = m / −8 = ∓scale; x = −t·(m / 8) then gives x · id = t exactly.
                QuantFormat::Q4_0 if first => unit_sign * 8.0 * scale,
                // Now and then the same magnitude with the other sign: the first one must win.
                QuantFormat::Q4_0 if rng.random_range(0..16) == 0 => -unit_sign * 8.0 * scale,
                QuantFormat::Q4_0 => {
                    let t = rng.random_range(1..=15) as f32 - 8.5;
                    let nudge = [
                        0.0,
                        crosscheck_spec::pow2_f32(-21),
                        -crosscheck_spec::pow2_f32(-21),
                        crosscheck_spec::pow2_f32(-20),
                    ][rng.random_range(0..4)];
                    -(t + nudge) * unit_sign * scale
                }
                // MXINT8: the largest element 127/64 · 2^e (scale 2^e), the others (k + ½)/64 · 2^e.
                QuantFormat::MxInt8 if first => unit_sign * 127.0 / 64.0 * scale,
                QuantFormat::MxInt8 => {
                    signs(rng) * (rng.random_range(-127..=126) as f32 + 0.5) / 64.0 * scale
                }
                // Every other block of GGML's MXFP4 gets the f32 just below 8 · 2^e (e ≥ 0) as its
                // largest value: log2f rounds up to e + 3 there, and its floor takes the next
                // exponent (OCP's floor would not).
                QuantFormat::GgmlMxFp4 if first && u % 2 == 1 => {
                    unit_sign * f32::from_bits((8.0 * scale.max(1.0)).to_bits() - 1)
                }
                QuantFormat::Fp8E4M3 => signs(rng) * e4m3_midpoint(rng),
                QuantFormat::Fp8E5M2 => signs(rng) * midpoint(minifloat::E5M2, rng),
                _ => match element_type(format) {
                    // An MX block's largest element is the element's largest finite value times
                    // 2^e, so its scale is 2^e and the others are midpoints times 2^e.
                    Some(mf) if first => unit_sign * mf.max_finite() as f32 * scale,
                    Some(mf) => signs(rng) * midpoint(mf, rng) * scale,
                    None if first => unit_sign * 448.0 * scale,
                    None => signs(rng) * e4m3_midpoint(rng) * scale,
                },
            }
        })
        .collect()
}

/// The element type of an MX format (GGML's MXFP4 included; MXINT8 has none).
fn element_type(format: QuantFormat) -> Option<Minifloat> {
    match format {
        QuantFormat::MxFp8E4M3 => Some(minifloat::E4M3),
        QuantFormat::MxFp8E5M2 => Some(minifloat::E5M2),
        QuantFormat::MxFp6E2M3 => Some(minifloat::E2M3),
        QuantFormat::MxFp6E3M2 => Some(minifloat::E3M2),
        QuantFormat::MxFp4 | QuantFormat::GgmlMxFp4 => Some(minifloat::E2M1),
        _ => None,
    }
}

/// Halfway between two adjacent finite values of `mf` (E5M2: or 61440, halfway from 57344 to
/// the 65536 that does not exist, which rounds to ∞).
fn midpoint(mf: Minifloat, rng: &mut ChaCha8Rng) -> f32 {
    if mf == minifloat::E5M2 && rng.random_range(0..16) == 0 {
        return 61440.0;
    }
    let max = mf.max_finite();
    let mut grid: Vec<f64> = (0u8..=255)
        .map(|c| mf.decode_f64(c).abs())
        .filter(|v| *v <= max)
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let i = rng.random_range(0..grid.len() - 1);
    ((grid[i] + grid[i + 1]) / 2.0) as f32
}

/// NVFP4 values on E2M1 ties: the tensor's first value is ±2688·2^e (tensor scale 2^e, its
/// block scale 448), every other block starts with ±6·2^(e + j) (block scale 2^j, exact in
/// E4M3) and continues with midpoints of E2M1 times the block's 2^(e + j), so x · (1/s)/scale
/// lands exactly on a tie.
fn nvfp4_ties(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let e = rng.random_range(-4..=4);
    let signs = |rng: &mut ChaCha8Rng| if rng.random::<bool>() { -1.0f32 } else { 1.0 };
    let mut v = Vec::with_capacity(n);
    for block in 0..n.div_ceil(crosscheck_spec::NVFP4_BLOCK) {
        let unit = if block == 0 {
            448.0 * crosscheck_spec::pow2_f32(e)
        } else {
            crosscheck_spec::pow2_f32(e + rng.random_range(-3..=3))
        };
        for j in 0..crosscheck_spec::NVFP4_BLOCK {
            let x = if j == 0 {
                6.0 * unit
            } else {
                midpoint(minifloat::E2M1, rng) * unit
            };
            v.push(signs(rng) * x);
        }
    }
    v.truncate(n);
    v
}

/// Halfway between two adjacent E4M3 values below 448 (or 464, halfway to the 480 that does
/// not exist, which must saturate to 448).
fn e4m3_midpoint(rng: &mut ChaCha8Rng) -> f32 {
    let code = rng.random_range(0u8..0x7e);
    let (lo, hi) = (
        quant::e4m3_bits_to_f32(code),
        quant::e4m3_bits_to_f32(code + 1),
    );
    if code == 0x7d && rng.random::<bool>() {
        464.0
    } else {
        (lo + hi) / 2.0
    }
}

/// Random bytes in the format's layout: codes and f16 scales of any bits; f32 scales random but
/// finite and normal (so that products stay in f32's normal range on every device).
fn random_bytes(format: QuantFormat, rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..format.encoded_len(rows, cols))
        .map(|_| rng.random::<u8>())
        .collect();
    let mut normal_scale = |at: usize, rng: &mut ChaCha8Rng| {
        let exp = rng.random_range(-20i32..=20);
        let v = (1.0 + rng.random::<f32>())
            * crosscheck_spec::pow2_f32(exp)
            * if rng.random::<bool>() { -1.0 } else { 1.0 };
        bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    match format {
        QuantFormat::Int8 => (0..rows).for_each(|r| normal_scale(r * (4 + cols), rng)),
        QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3Block => {
            let scales = (format.encoded_len(rows, cols) - rows * cols) / 4;
            (0..scales).for_each(|s| normal_scale(4 * s, rng));
        }
        QuantFormat::NvFp4 => normal_scale(0, rng),
        QuantFormat::Fp8E4M3TileUe8m0 | QuantFormat::Fp8E4M3BlockUe8m0 => {
            let scales = format.encoded_len(rows, cols) - rows * cols;
            (0..scales).for_each(|s| bytes[s] = rng.random_range(107..=147));
        }
        // E8M0 scales within 2^±20 of 1, like the f32 scales above.
        _ if format.element_bits().is_some() => {
            let block = format.encoded_len(1, format.row_block());
            for at in (0..bytes.len()).step_by(block) {
                bytes[at] = rng.random_range(107..=147);
            }
        }
        _ => {}
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_land_exactly_on_ties() {
        let v = values(
            QuantFormat::Q8_0,
            1,
            64,
            Distribution::Ties,
            &mut stream(1, 0),
        );
        for block in v.chunks(32) {
            let d = block[0].abs() / 127.0;
            assert!(
                block[1..].iter().all(|x| (x / d).fract().abs() == 0.5),
                "{block:?}"
            );
        }
        let v = values(
            QuantFormat::Int8,
            3,
            10,
            Distribution::Ties,
            &mut stream(2, 0),
        );
        for row in v.chunks(10) {
            let s = row[0].abs() / 127.0;
            assert!(row[1..].iter().all(|x| (x / s).fract().abs() == 0.5));
        }
    }

    #[test]
    fn q4_0_ties_hit_the_truncation_thresholds() {
        let v = values(
            QuantFormat::Q4_0,
            2,
            64,
            Distribution::Ties,
            &mut stream(5, 0),
        );
        for block in v.chunks(32) {
            let id = -8.0 / block[0];
            for x in &block[1..] {
                let t = (x * id + 8.5).min(16.0);
                assert!(
                    (t - t.round()).abs() <= crosscheck_spec::pow2_f32(-20),
                    "{x} → {t}"
                );
            }
        }
    }

    #[test]
    fn zero_blocks_zero_whole_units() {
        let v = values(
            QuantFormat::Q4_0,
            4,
            256,
            Distribution::ZeroBlocks,
            &mut stream(3, 0),
        );
        let zero_blocks = v.chunks(32).filter(|b| b.iter().all(|x| *x == 0.0)).count();
        assert!(zero_blocks > 0 && zero_blocks < 32, "{zero_blocks}");
    }

    #[test]
    fn mx_and_nvfp4_ties_land_on_element_ties() {
        let v = values(
            QuantFormat::MxFp4,
            2,
            64,
            Distribution::Ties,
            &mut stream(6, 0),
        );
        for block in v.chunks(32) {
            let unit = block[0].abs() / 6.0;
            let ties = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0];
            assert!(block[1..].iter().all(|x| ties.contains(&(x.abs() / unit))));
        }
        let v = values(
            QuantFormat::NvFp4,
            1,
            64,
            Distribution::Ties,
            &mut stream(7, 0),
        );
        let s = v[0].abs() / 2688.0;
        assert_eq!(s.log2().fract(), 0.0);
        for block in v[16..].chunks(16) {
            let j = (block[0].abs() / 6.0 / s).log2();
            assert!(j.fract() == 0.0 && j.abs() <= 3.0, "{block:?}");
        }
    }

    #[test]
    fn kquant_specials_cover_every_special_super_block() {
        let v = values(
            QuantFormat::Q4K,
            3,
            512,
            Distribution::Specials,
            &mut stream(8, 0),
        );
        let blocks: Vec<&[f32]> = v.chunks(256).collect();
        assert!(blocks[0].iter().all(|x| *x == 0.0));
        assert!(blocks[1].iter().all(|x| x.is_subnormal()));
        // Small normals, most with subnormal cubes (the weighted squared errors).
        assert!(blocks[2].iter().all(|x| x.is_normal() && x.abs() < 1e-11));
        let subnormal_cubes = blocks[2]
            .iter()
            .filter(|x| (*x * *x * *x).abs() < f32::MIN_POSITIVE)
            .count();
        assert!(subnormal_cubes > 128, "{subnormal_cubes}");
        assert!(blocks[3].iter().any(|x| x.is_nan()));
        assert!(blocks[4].iter().any(|x| x.is_infinite()));
        assert!(blocks[5].iter().all(|x| x.is_finite() && x.abs() > 1e-10));
    }

    #[test]
    fn random_bytes_keep_f32_scales_normal() {
        let b = random_bytes(QuantFormat::Int8, 5, 3, &mut stream(4, 0));
        for row in b.chunks(7) {
            let s = f32::from_le_bytes(row[..4].try_into().unwrap());
            assert!(s.is_normal());
        }
    }
}
