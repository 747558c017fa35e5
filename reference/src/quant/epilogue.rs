//! Codecs of the vendor-epilogue weight formats. W8A8 with a bias: per output channel an f32
//! scale, a 4-byte bias (i32, f32, or a bf16 value stored as f32) and the int8 codes of the
//! symmetric per-row quantization. Antiquant (Ascend WeightQuantBatchMatmul): per group of
//! `g` values along a row an f16 scale and an f16 offset, codes q in the signed range of `bits`,
//! value = (q + offset) · scale.

use crosscheck_spec::QuantFormat;

use super::int8;
use crate::codec;

/// The channel scale a kernel of `format` multiplies by: the stored f32, or (under the 19-bit
/// rule of Ascend's TransQuantParam) the stored f32 with its low 13 bits cleared.
pub fn channel_scale(format: QuantFormat, stored: f32) -> f32 {
    if format == QuantFormat::W8A8BiasI32S19 {
        f32::from_bits(stored.to_bits() & 0xFFFF_E000)
    } else {
        stored
    }
}

/// The stored bias bits of a real bias `b` in `format`: the nearest i32 (ties away from zero,
/// saturating), the f32 itself, or its nearest-even bf16 value as an f32.
pub fn bias_bits(format: QuantFormat, b: f32) -> [u8; 4] {
    match format {
        QuantFormat::W8A8BiasI32 | QuantFormat::W8A8BiasI32S19 => (b.round() as i32).to_le_bytes(),
        QuantFormat::W8A8BiasBf16 => {
            codec::bf16_bits_to_f32(codec::f32_to_bf16_bits(b)).to_le_bytes()
        }
        _ => b.to_le_bytes(),
    }
}

/// One W8A8-with-bias row: the stored scale, the bias as stored (an i32 or an f32), the codes.
pub struct BiasRow {
    /// The stored f32 channel scale.
    pub scale: f32,
    /// The bias: the i32 of the i32 formats, the f32 (or bf16 value) of the others.
    pub bias: f64,
    /// The int8 codes.
    pub codes: Vec<i64>,
}

/// The rows of a W8A8-with-bias matrix of `cols` columns.
pub fn bias_rows(format: QuantFormat, cols: usize, bytes: &[u8]) -> Vec<BiasRow> {
    bytes
        .chunks_exact(8 + cols)
        .map(|r| {
            let word = [r[4], r[5], r[6], r[7]];
            let bias = match format {
                QuantFormat::W8A8BiasI32 | QuantFormat::W8A8BiasI32S19 => {
                    i32::from_le_bytes(word) as f64
                }
                _ => f32::from_le_bytes(word) as f64,
            };
            BiasRow {
                scale: f32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                bias,
                codes: r[8..].iter().map(|&q| q as i8 as i64).collect(),
            }
        })
        .collect()
}

/// Encodes values per row as int8 does, with the per-row real biases `bias` (in the units the
/// format adds them in: integer-sum units for the i32 formats, output units otherwise).
pub fn encode_bias(
    format: QuantFormat,
    rows: usize,
    cols: usize,
    values: &[f32],
    bias: &[f32],
) -> Vec<u8> {
    let plain = int8::encode(rows, cols, values);
    let mut out = Vec::with_capacity(rows * (8 + cols));
    for (row, b) in plain.chunks_exact(4 + cols).zip(bias) {
        out.extend_from_slice(&row[..4]);
        out.extend_from_slice(&bias_bits(format, *b));
        out.extend_from_slice(&row[4..]);
    }
    out
}

/// The weight values q · scale (the scale under the format's rule), exact in f64.
pub fn decode_bias(format: QuantFormat, cols: usize, bytes: &[u8]) -> Vec<f64> {
    bias_rows(format, cols, bytes)
        .into_iter()
        .flat_map(|r| {
            let s = channel_scale(format, r.scale) as f64;
            r.codes.into_iter().map(move |q| q as f64 * s)
        })
        .collect()
}

/// Signed code range of `bits`-bit codes.
fn code_range(bits: usize) -> (f32, f32) {
    let half = (1i32 << (bits - 1)) as f32;
    (-half, half - 1.0)
}

/// Antiquant: per group, scale = (max − min) / (levels − 1) and offset = min / scale − q_min,
/// both rounded to f16 (so (q_min + offset) · scale ≈ min); codes round(x / scale − offset) half away from zero, clamped. A
/// constant group gets scale 0, offset 0 and zero codes (value 0) unless it is all one nonzero
/// value v, which gets scale |v|, offset 0 and codes ±1.
pub fn encode_antiquant(format: QuantFormat, rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let (bits, group) = format.antiquant().expect("an antiquant format");
    let (q_min, q_max) = code_range(bits);
    let mut params = Vec::with_capacity(rows * cols / group * 4);
    let mut codes: Vec<i8> = Vec::with_capacity(rows * cols);
    for g in values.chunks_exact(group) {
        let lo = g.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = g.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let (scale, offset) = if hi > lo {
            let scale = codec::f16_bits_to_f32(codec::f32_to_f16_bits((hi - lo) / (q_max - q_min)));
            let offset = if scale > 0.0 {
                codec::f16_bits_to_f32(codec::f32_to_f16_bits(lo / scale - q_min))
            } else {
                0.0
            };
            (scale, offset)
        } else {
            (
                codec::f16_bits_to_f32(codec::f32_to_f16_bits(lo.abs())),
                0.0,
            )
        };
        params.extend_from_slice(&codec::f32_to_f16_bits(scale).to_le_bytes());
        params.extend_from_slice(&codec::f32_to_f16_bits(offset).to_le_bytes());
        codes.extend(g.iter().map(|&x| {
            if scale == 0.0 {
                0
            } else {
                (x / scale - offset).round().clamp(q_min, q_max) as i8
            }
        }));
    }
    match bits {
        8 => params.extend(codes.iter().map(|&q| q as u8)),
        _ => params.extend(
            codes
                .chunks_exact(2)
                .map(|p| (p[0] as u8 & 0x0f) | ((p[1] as u8 & 0x0f) << 4)),
        ),
    }
    params
}

/// Antiquant values (q + offset) · scale, exact in f64.
pub fn decode_antiquant(format: QuantFormat, rows: usize, cols: usize, bytes: &[u8]) -> Vec<f64> {
    let (bits, group) = format.antiquant().expect("an antiquant format");
    let (params, codes) = bytes.split_at(4 * rows * cols / group);
    let code = |i: usize| -> f64 {
        match bits {
            8 => codes[i] as i8 as f64,
            _ => {
                let nibble = (codes[i / 2] >> (4 * (i % 2))) & 0x0f;
                ((nibble << 4) as i8 >> 4) as f64
            }
        }
    };
    (0..rows * cols)
        .map(|i| {
            let p = &params[4 * (i / group)..];
            let scale = codec::f16_bits_to_f32(u16::from_le_bytes([p[0], p[1]])) as f64;
            let offset = codec::f16_bits_to_f32(u16::from_le_bytes([p[2], p[3]])) as f64;
            (code(i) + offset) * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_19_bit_rule_clears_the_low_13_bits() {
        let s = f32::from_bits(0x3C23_D70A); // 0.01
        assert_eq!(
            channel_scale(QuantFormat::W8A8BiasI32S19, s).to_bits(),
            0x3C23_C000
        );
        assert_eq!(channel_scale(QuantFormat::W8A8BiasI32, s), s);
    }

    #[test]
    fn biases_are_stored_as_their_formats_say() {
        let values = [1.0f32, -2.0, 0.5, 4.0];
        for (format, want) in [
            (QuantFormat::W8A8BiasI32, 3.0),
            (QuantFormat::W8A8BiasF32, 2.5),
            (QuantFormat::W8A8BiasBf16, 2.5),
        ] {
            let bytes = encode_bias(format, 1, 4, &values, &[2.5]);
            assert_eq!(bytes.len(), format.encoded_len(1, 4));
            let row = &bias_rows(format, 4, &bytes)[0];
            assert_eq!(row.bias, want, "{format}");
            assert_eq!(row.codes, vec![32, -64, 16, 127]);
        }
        // 1 + 2^-10 is not a bf16 value: it rounds to 1.
        let bytes = encode_bias(
            QuantFormat::W8A8BiasBf16,
            1,
            1,
            &[1.0],
            &[1.0 + 1.0 / 1024.0],
        );
        assert_eq!(bias_rows(QuantFormat::W8A8BiasBf16, 1, &bytes)[0].bias, 1.0);
    }

    #[test]
    fn antiquant_groups_span_their_range_with_the_offset_added() {
        for format in [QuantFormat::AntiquantW8G64, QuantFormat::AntiquantW4G32] {
            let (bits, group) = format.antiquant().unwrap();
            let values: Vec<f32> = (0..2 * group).map(|i| i as f32 * 0.25 - 3.0).collect();
            let bytes = encode_antiquant(format, 1, 2 * group, &values);
            assert_eq!(bytes.len(), format.encoded_len(1, 2 * group));
            let back = decode_antiquant(format, 1, 2 * group, &bytes);
            for (g, (x, y)) in values.chunks(group).zip(back.chunks(group)).enumerate() {
                let step = (x[group - 1] - x[0]) as f64 / ((1 << bits) - 1) as f64;
                for (a, b) in x.iter().zip(y) {
                    // Half a step, plus the f16 roundings of scale and offset where the range ends clamp.
                    assert!(
                        (*a as f64 - b).abs() <= 1.01 * step,
                        "{format} group {g}: {a} → {b}"
                    );
                }
            }
        }
    }
}
