//! Codecs for the quantized formats: the source of truth for their bits. Each follows its
//! format's definition operation by operation in f32 (as the GGML and DeepSeek references do),
//! so the bytes are the ones those stacks write. Layouts are in `spec/src/quant.rs` and
//! `docs/formats.md`.

pub mod epilogue;
mod fp8;
mod ggml;
mod int8;

use crosscheck_spec::QuantFormat;

use crate::formats::{self, BlockFormat, Options};

pub use fp8::{e4m3_bits_to_f32, f32_to_e4m3_bits};

/// Quantizes a row-major rows × cols matrix of f32 values into `format`'s bytes.
/// The caller has checked the shape with [`QuantFormat::check_cols`].
pub fn encode(format: QuantFormat, rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    assert_eq!(
        values.len(),
        rows * cols,
        "{format}: {} values for {rows}×{cols}",
        values.len()
    );
    match format {
        QuantFormat::Q8_0 => ggml::encode_q8_0(values),
        QuantFormat::Q4_0 => ggml::encode_q4_0(values),
        QuantFormat::Int8 => int8::encode(rows, cols, values),
        QuantFormat::Fp8E4M3 => values.iter().map(|&v| f32_to_e4m3_bits(v)).collect(),
        QuantFormat::Fp8E4M3Tile => fp8::encode_scaled(rows, cols, 1, values),
        QuantFormat::Fp8E4M3Block => {
            fp8::encode_scaled(rows, cols, crosscheck_spec::FP8_TILE, values)
        }
        // Zero biases: the quantized-matmul data generator writes its own with `encode_bias`.
        QuantFormat::W8A8BiasI32
        | QuantFormat::W8A8BiasI32S19
        | QuantFormat::W8A8BiasF32
        | QuantFormat::W8A8BiasBf16 => {
            epilogue::encode_bias(format, rows, cols, values, &vec![0.0; rows])
        }
        QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => {
            epilogue::encode_antiquant(format, rows, cols, values)
        }
        _ => formats::encode(block_format(format), rows, cols, values, Options::default())
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

/// The codec of `crate::formats` behind a format that is not one of the original six (their
/// default options: the MX floor scale rule and nearest-even elements, E5M2 overflowing to ∞;
/// GGML's MXFP4 and the UE8M0 layouts have no options).
fn block_format(format: QuantFormat) -> BlockFormat {
    match format {
        QuantFormat::Fp8E5M2 => BlockFormat::Fp8E5M2,
        QuantFormat::MxFp8E4M3 => BlockFormat::MxFp8E4M3,
        QuantFormat::MxFp8E5M2 => BlockFormat::MxFp8E5M2,
        QuantFormat::MxFp6E2M3 => BlockFormat::MxFp6E2M3,
        QuantFormat::MxFp6E3M2 => BlockFormat::MxFp6E3M2,
        QuantFormat::MxFp4 => BlockFormat::MxFp4,
        QuantFormat::NvFp4 => BlockFormat::NvFp4,
        QuantFormat::Q4K => BlockFormat::Q4K,
        QuantFormat::Q5K => BlockFormat::Q5K,
        QuantFormat::Q6K => BlockFormat::Q6K,
        QuantFormat::MxInt8 => BlockFormat::MxInt8,
        QuantFormat::GgmlMxFp4 => BlockFormat::GgmlMxfp4,
        QuantFormat::Fp8E4M3TileUe8m0 => BlockFormat::Fp8E4M3TileUe8m0,
        QuantFormat::Fp8E4M3BlockUe8m0 => BlockFormat::Fp8E4M3BlockUe8m0,
        other => unreachable!("{other} has a codec of its own"),
    }
}

/// [`encode`] under a kernel's declared MX choices: the OCP MX formats (`mxfp8-*`, `mxfp6-*`,
/// `mxfp4`, `mxint8`) take the scale rule and the element rounding; every other format has a
/// rule of its own (GGML's MXFP4, the UE8M0 layouts, NVFP4) or none, and keeps it.
pub fn encode_declared(
    format: QuantFormat,
    rows: usize,
    cols: usize,
    values: &[f32],
    scale_rule: crosscheck_spec::ScaleRule,
    rounding: crosscheck_spec::ElementRounding,
) -> Vec<u8> {
    let takes_choices = matches!(
        format,
        QuantFormat::MxFp8E4M3
            | QuantFormat::MxFp8E5M2
            | QuantFormat::MxFp6E2M3
            | QuantFormat::MxFp6E3M2
            | QuantFormat::MxFp4
            | QuantFormat::MxInt8
    );
    if !takes_choices {
        return encode(format, rows, cols, values);
    }
    let options = Options {
        scale_rule: Some(scale_rule),
        rounding: Some(rounding),
        overflow: None,
    };
    formats::encode(block_format(format), rows, cols, values, options)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The exact real values a quantized matrix stands for (scale × code, computed in f64, where
/// every such product is exact).
pub fn dequantize_exact(format: QuantFormat, rows: usize, cols: usize, bytes: &[u8]) -> Vec<f64> {
    assert_eq!(
        bytes.len(),
        format.encoded_len(rows, cols),
        "{format}: {} bytes for {rows}×{cols}",
        bytes.len()
    );
    match format {
        QuantFormat::Q8_0 => ggml::decode_q8_0(bytes),
        QuantFormat::Q4_0 => ggml::decode_q4_0(bytes),
        QuantFormat::Int8 => int8::decode(rows, cols, bytes),
        QuantFormat::Fp8E4M3 => bytes.iter().map(|&b| e4m3_bits_to_f32(b) as f64).collect(),
        QuantFormat::Fp8E4M3Tile => fp8::decode_scaled(rows, cols, 1, bytes),
        QuantFormat::Fp8E4M3Block => {
            fp8::decode_scaled(rows, cols, crosscheck_spec::FP8_TILE, bytes)
        }
        QuantFormat::W8A8BiasI32
        | QuantFormat::W8A8BiasI32S19
        | QuantFormat::W8A8BiasF32
        | QuantFormat::W8A8BiasBf16 => epilogue::decode_bias(format, cols, bytes),
        QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => {
            epilogue::decode_antiquant(format, rows, cols, bytes)
        }
        _ => formats::dequantize_exact(block_format(format), rows, cols, bytes)
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Dequantizes to f32 as the format defines it: the f32 product scale × code, i.e. the exact
/// value rounded to nearest even (exact for Q8_0, Q4_0 and unscaled E4M3); the K-quants by
/// their f32 operations (`dequantize_exact` widens those f32 values).
pub fn decode(format: QuantFormat, rows: usize, cols: usize, bytes: &[u8]) -> Vec<f32> {
    dequantize_exact(format, rows, cols, bytes)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// f32 → f16 bits, round to nearest even (GGML_FP32_TO_FP16).
fn f16_bits(x: f32) -> u16 {
    crate::codec::f32_to_f16_bits(x)
}

/// f16 bits → f32 (exact).
fn f16_value(bits: u16) -> f32 {
    crate::codec::f16_bits_to_f32(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_decodes_close_to_what_it_encoded() {
        // Integer codes resolve amax / 127 (Q8_0, int8) or amax / 8 (Q4_0); E4M3 keeps 3
        // mantissa bits (1/16 relative) down to its subnormals.
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 32.0) * 0.25).collect();
        let amax = 8.0f32;
        for format in &QuantFormat::ALL[..6] {
            let format = *format;
            let bytes = encode(format, 2, 32, &values);
            assert_eq!(bytes.len(), format.encoded_len(2, 32));
            let back = decode(format, 2, 32, &bytes);
            for (x, y) in values.iter().zip(&back) {
                let allowed = match format {
                    QuantFormat::Q8_0 | QuantFormat::Int8 => amax / 254.0,
                    QuantFormat::Q4_0 => amax / 16.0,
                    _ => x.abs() / 16.0 + amax / 448.0 * crosscheck_spec::pow2_f32(-10),
                };
                assert!((x - y).abs() <= allowed * 1.0001, "{format}: {x} → {y}");
            }
        }
    }

    #[test]
    fn block_formats_agree_with_their_codecs_on_lengths_and_bytes() {
        let x: Vec<f32> = (0..2 * 256).map(|i| (i as f32 - 200.0) / 16.0).collect();
        let block_formats = QuantFormat::ALL[6..16]
            .iter()
            .chain(&QuantFormat::ALL[22..]);
        for format in block_formats {
            let b = block_format(*format);
            assert_eq!(b.name(), format.name());
            assert_eq!(
                format.encoded_len(2, 256),
                b.encoded_len(2, 256),
                "{format}"
            );
            assert_eq!(
                format.encoded_len(130, 256),
                b.encoded_len(130, 256),
                "{format}"
            );
            assert_eq!(format.row_block(), b.block().unwrap_or(1), "{format}");
            let bytes = encode(*format, 2, 256, &x);
            assert_eq!(
                bytes,
                formats::encode(b, 2, 256, &x, Options::default()).unwrap()
            );
            assert_eq!(
                decode(*format, 2, 256, &bytes),
                formats::decode(b, 2, 256, &bytes).unwrap(),
                "{format}"
            );
        }
    }
}
