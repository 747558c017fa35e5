//! CPU kernels of the `mx` family: the OCP MX formats (blocks of 32 along the row, an E8M0
//! scale byte 2^(b − 127) from the floor rule ⌊log2 amax⌋ − emax, saturating elements; MXINT8's
//! elements q / 64), GGML's MXFP4 (its own exponent and tie rule, Q4_0's nibble order) and
//! unscaled FP8 E5M2 (overflowing to ∞): quantize, dequantize, and the quantized matmul of MX
//! weights with f32 or bf16 activations (W4A16, W6A16), for MXFP8 and MXINT8 with activations
//! in the weights' format, and for MXFP4 with FP8 activations (W4A8: 1×128 tiles or MXFP8
//! blocks).

use crosscheck_spec::{
    FP8_TILE, HostTensor, MX_BLOCK, QuantFormat, QuantMatmulProblem, QuantizeProblem, ScaleRule,
};
use rayon::prelude::*;

use super::minifloat::{E2M1, E2M3, E3M2, E4M3, E5M2, Element, code_at, pack};
use super::mx_scale_rule::{ElementLimits, scale_byte};
use super::mxint8;
use super::{e4m3, ggml_mxfp4};

/// How an mx-family format codes its elements.
#[derive(Clone, Copy)]
enum Elements {
    /// An OCP minifloat (E5M2 for unscaled `fp8-e5m2`).
    Float(Element),
    /// MXINT8's q / 64.
    Int8,
    /// GGML's MXFP4.
    Ggml,
}

/// The elements of an mx-family format.
fn elements(format: QuantFormat) -> Elements {
    match format {
        QuantFormat::MxFp8E4M3 => Elements::Float(E4M3),
        QuantFormat::MxFp8E5M2 | QuantFormat::Fp8E5M2 => Elements::Float(E5M2),
        QuantFormat::MxFp6E2M3 => Elements::Float(E2M3),
        QuantFormat::MxFp6E3M2 => Elements::Float(E3M2),
        QuantFormat::MxFp4 => Elements::Float(E2M1),
        QuantFormat::MxInt8 => Elements::Int8,
        QuantFormat::GgmlMxFp4 => Elements::Ggml,
        other => panic!("{other} is not an mx-family format"),
    }
}

/// The element type of a minifloat mx-family format.
fn element(format: QuantFormat) -> Element {
    match elements(format) {
        Elements::Float(t) => t,
        _ => panic!("{format} has no minifloat elements"),
    }
}

/// Bits of an element code.
fn bits(t: Element) -> u32 {
    1 + t.exp_bits + t.man_bits
}

/// What the scale rules need of an mx-family format's elements (MXINT8: 127/64, emax 0, six
/// fraction bits).
fn limits(e: Elements) -> ElementLimits {
    match e {
        Elements::Float(t) => ElementLimits {
            emax: t.emax(),
            mbits: t.man_bits,
            max: t.max_finite(),
        },
        _ => ElementLimits {
            emax: 0,
            mbits: 6,
            max: 127.0 / 64.0,
        },
    }
}

/// The largest magnitude of a block, or NaN when it holds NaN or ∞.
fn block_amax(block: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    for v in block {
        if !v.is_finite() {
            return f32::NAN;
        }
        amax = amax.max(v.abs());
    }
    amax
}

/// Quantize: raw E5M2 codes, or per block the OCP floor scale byte and the packed element
/// codes.
pub fn quantize(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    quantize_under(ScaleRule::Floor, p, x)
}

/// [`quantize`] with DeepGEMM's ceil scale rule.
pub fn quantize_ceil(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    quantize_under(ScaleRule::Ceil, p, x)
}

/// [`quantize`] with torchao's even scale rule.
pub fn quantize_even(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    quantize_under(ScaleRule::Even, p, x)
}

/// [`quantize`] with torchao's rceil scale rule (cuBLAS's MX scale).
pub fn quantize_rceil(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    quantize_under(ScaleRule::Rceil, p, x)
}

/// [`quantize`] with the scale bytes of `rule` (GGML's MXFP4 keeps its own rule).
fn quantize_under(rule: ScaleRule, p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let kind = elements(p.format);
    if p.format == QuantFormat::Fp8E5M2 {
        let t = element(p.format);
        return values.par_iter().map(|&v| t.encode(v, 0, true)).collect();
    }
    let blocks: Vec<Vec<u8>> = values
        .par_chunks(MX_BLOCK)
        .map(|block| {
            if let Elements::Ggml = kind {
                return ggml_mxfp4::quantize_block(block).to_vec();
            }
            let scale = scale_byte(block_amax(block), limits(kind), rule);
            let shift = scale as i32 - 127;
            let code = |v: f32| match kind {
                _ if scale == 0xff => 0,
                Elements::Float(t) => t.encode(v, shift, false),
                _ => mxint8::encode(v, shift),
            };
            let codes: Vec<u8> = block.iter().map(|&v| code(v)).collect();
            let mut out = vec![scale];
            match kind {
                Elements::Float(t) => pack(bits(t), &codes, &mut out),
                _ => out.extend_from_slice(&codes),
            }
            out
        })
        .collect();
    blocks.concat()
}

/// 2^(b − 127) of an E8M0 byte (NaN for 0xff), exactly, as f64.
fn scale_value(b: u8) -> f64 {
    if b == 0xff {
        f64::NAN
    } else {
        2f64.powi(b as i32 - 127)
    }
}

/// Bytes of one block of an MX format.
fn block_bytes(format: QuantFormat) -> usize {
    match elements(format) {
        Elements::Float(t) => 1 + MX_BLOCK * bits(t) as usize / 8,
        Elements::Int8 => 1 + MX_BLOCK,
        Elements::Ggml => ggml_mxfp4::BLOCK_BYTES,
    }
}

/// The 32 element values of a block (its bytes after the scale byte), exactly.
fn element_values(kind: Elements, codes: &[u8]) -> [f64; MX_BLOCK] {
    std::array::from_fn(|i| match kind {
        Elements::Float(t) => t.decode(code_at(bits(t), codes, i)),
        Elements::Int8 => mxint8::decode(codes[i]),
        Elements::Ggml => ggml_mxfp4::element(ggml_mxfp4::nibble_at(codes, i)),
    })
}

/// The exact values of one row of `cols` in an MX format (or raw E5M2).
fn row_values(format: QuantFormat, row: &[u8]) -> Vec<f64> {
    let kind = elements(format);
    if format == QuantFormat::Fp8E5M2 {
        let t = element(format);
        return row.iter().map(|&c| t.decode(c)).collect();
    }
    row.chunks_exact(block_bytes(format))
        .flat_map(|b| {
            // GGML's MXFP4 has no NaN scale: 0xFF is 2^128.
            let s = match kind {
                Elements::Ggml => 2f64.powi(b[0] as i32 - 127),
                _ => scale_value(b[0]),
            };
            element_values(kind, &b[1..]).map(|v| v * s)
        })
        .collect()
}

/// Dequantize: element · 2^(b − 127), the exact value rounded once to f32.
pub fn dequantize(p: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    row_values(p.format, &q.bytes)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// One operand row as blocks of (scale as f32 power of two, element values as f32).
fn blocks(format: QuantFormat, row: &[u8]) -> Vec<(f32, f32, [f32; MX_BLOCK])> {
    let kind = elements(format);
    row.chunks_exact(block_bytes(format))
        .map(|b| {
            // 2^(b − 127) in two factors, each a normal f32 (2^-127 alone is subnormal).
            let e = b[0] as i32 - 127;
            let (hi, lo) = (2f32.powi(e - e / 2), 2f32.powi(e / 2));
            (hi, lo, element_values(kind, &b[1..]).map(|v| v as f32))
        })
        .collect()
}

/// FP8 activations with one f32 scale per 1×128 tile of each row (`fp8-e4m3-1x128`), as MX
/// blocks of 32: per block, the f32 tile scale (the tile holding the block; a block never spans
/// two, 128 being a multiple of 32), 1, and the E4M3 values.
fn fp8_tile_rows(a: &HostTensor, m: usize, k: usize) -> Vec<Vec<(f32, f32, [f32; MX_BLOCK])>> {
    let tiles = k.div_ceil(FP8_TILE);
    let (scales, codes) = a.bytes.split_at(4 * m * tiles);
    let scale = |i: usize, t: usize| {
        let at = 4 * (i * tiles + t);
        f32::from_le_bytes([scales[at], scales[at + 1], scales[at + 2], scales[at + 3]])
    };
    codes
        .chunks_exact(k)
        .enumerate()
        .map(|(i, row)| {
            row.chunks_exact(MX_BLOCK)
                .enumerate()
                .map(|(b, block)| {
                    let values = std::array::from_fn(|j| e4m3::to_f32(block[j]));
                    (scale(i, b * MX_BLOCK / FP8_TILE), 1.0, values)
                })
                .collect()
        })
        .collect()
}

/// MX weights × activations (unquantized f32 or bf16, MXFP8 or MXINT8 of the weights' type, or for MXFP4
/// weights FP8 E4M3 in 1×128 tiles or MXFP8 E4M3 blocks: W4A8): per block of 32 along k, the
/// f32 dot of activations and elements, times the weight block's power-of-two scale and the
/// activations' scale, summed in f32.
pub fn qmatmul(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let row_bytes = p.weights.encoded_len(1, p.k);
    let w_rows: Vec<_> = w
        .bytes
        .chunks_exact(row_bytes)
        .map(|r| blocks(p.weights, r))
        .collect();
    let a_rows: Vec<Vec<(f32, f32, [f32; MX_BLOCK])>> = match p.activations() {
        Some(QuantFormat::Fp8E4M3Tile) => fp8_tile_rows(a, p.m, p.k),
        Some(format) => a
            .bytes
            .chunks_exact(format.encoded_len(1, p.k))
            .map(|r| blocks(format, r))
            .collect(),
        None => a
            .to_f32()
            .chunks_exact(p.k)
            .map(|r| {
                r.chunks_exact(MX_BLOCK)
                    .map(|b| (1.0, 1.0, b.try_into().expect("a block of 32")))
                    .collect()
            })
            .collect(),
    };
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n)
        .zip(&a_rows)
        .for_each(|(c_row, a_row)| {
            for (out, w_row) in c_row.iter_mut().zip(&w_rows) {
                let mut acc = 0.0f32;
                for ((ah, al, av), (wh, wl, wv)) in a_row.iter().zip(w_row) {
                    let dot: f32 = av.iter().zip(wv).map(|(x, y)| x * y).sum();
                    acc += dot * wh * wl * ah * al;
                }
                *out = acc;
            }
        });
    c
}
