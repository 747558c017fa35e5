//! `crosscheck encode` / `decode`: raw little-endian f32 to a format's exact bytes and back,
//! through the reference codecs, so blocks written by another stack can be checked bit for bit.

use std::fmt;
use std::str::FromStr;

use crosscheck_reference::{codec, quant};
use crosscheck_spec::{GGML_BLOCK, Precision, QuantFormat};

/// A format `encode` and `decode` understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// IEEE binary16 or bfloat16, 2 bytes per value.
    Half(Precision),
    /// A quantized format.
    Quant(QuantFormat),
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f16" => Ok(Format::Half(Precision::F16)),
            "bf16" => Ok(Format::Half(Precision::BF16)),
            _ => s.parse().map(Format::Quant).map_err(|_| {
                let quant: Vec<&str> = QuantFormat::ALL.iter().map(|q| q.name()).collect();
                format!(
                    "unknown format `{s}` (expected f16, bf16, {})",
                    quant.join(", ")
                )
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Half(p) => write!(f, "{p}"),
            Format::Quant(q) => write!(f, "{q}"),
        }
    }
}

/// Rows and columns of `count` values: one row unless `row_length` is given.
fn shape(
    format: Format,
    count: usize,
    row_length: Option<usize>,
) -> Result<(usize, usize), String> {
    if count == 0 {
        return Err("the input holds no values".into());
    }
    let cols = row_length.unwrap_or(count);
    if cols == 0 || count % cols != 0 {
        return Err(format!("{count} values do not split into rows of {cols}"));
    }
    if let Format::Quant(q) = format {
        q.check_cols(cols)?;
    }
    Ok((count / cols, cols))
}

/// Raw little-endian f32 bytes → `format`'s bytes (rows of `row_length` values where the format
/// has per-row or per-tile scales; the whole input is one row otherwise).
pub fn encode(format: Format, input: &[u8], row_length: Option<usize>) -> Result<Vec<u8>, String> {
    if input.len() % 4 != 0 {
        return Err(format!(
            "the input is {} bytes, not a whole number of little-endian f32 values",
            input.len()
        ));
    }
    let values = codec::decode(Precision::F32, input);
    let (rows, cols) = shape(format, values.len(), row_length)?;
    Ok(match format {
        Format::Half(p) => codec::encode(p, &values),
        Format::Quant(q) => quant::encode(q, rows, cols, &values),
    })
}

/// `format`'s bytes → raw little-endian f32 bytes. Formats with per-row or per-tile scales
/// (int8, the scaled FP8 layouts) need the row length to know where the scales end.
pub fn decode(format: Format, input: &[u8], row_length: Option<usize>) -> Result<Vec<u8>, String> {
    let values = match format {
        Format::Half(p) => {
            if input.len() % 2 != 0 {
                return Err(format!(
                    "{} bytes are not a whole number of {p} values",
                    input.len()
                ));
            }
            codec::decode(p, input)
        }
        Format::Quant(q) => {
            let (rows, cols) = quant_shape(q, input.len(), row_length)?;
            quant::decode(q, rows, cols, input)
        }
    };
    Ok(codec::encode(Precision::F32, &values))
}

/// Rows and columns of `len` bytes of `q`.
fn quant_shape(
    q: QuantFormat,
    len: usize,
    row_length: Option<usize>,
) -> Result<(usize, usize), String> {
    let cols = match (q, row_length) {
        (_, Some(c)) => c,
        (QuantFormat::Q8_0 | QuantFormat::Q4_0, None) => {
            let block = q.encoded_len(1, GGML_BLOCK);
            if len % block != 0 {
                return Err(format!(
                    "{len} bytes are not a whole number of {q} blocks ({block} bytes each)"
                ));
            }
            len / block * GGML_BLOCK
        }
        (QuantFormat::Fp8E4M3, None) => len,
        (_, None) => {
            return Err(format!(
                "{q} has per-row or per-tile scales: give --row-length"
            ));
        }
    };
    q.check_cols(cols.max(1))?;
    // The smallest row count whose encoding has exactly `len` bytes.
    let rows = (1..=len)
        .find(|&r| q.encoded_len(r, cols) >= len)
        .filter(|&r| q.encoded_len(r, cols) == len);
    rows.map(|r| (r, cols))
        .ok_or_else(|| format!("{len} bytes are not a whole number of {q} rows of {cols} values"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        codec::encode(Precision::F32, values)
    }

    #[test]
    fn every_format_round_trips_through_encode_and_decode() {
        let values: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) / 16.0).collect();
        for name in [
            "f16",
            "bf16",
            "q8_0",
            "q4_0",
            "int8",
            "fp8-e4m3",
            "fp8-e4m3-1x128",
            "fp8-e4m3-128x128",
        ] {
            let format: Format = name.parse().unwrap();
            let rows = Some(64);
            let bytes = encode(format, &f32_bytes(&values), rows).unwrap();
            let back = codec::decode(Precision::F32, &decode(format, &bytes, rows).unwrap());
            assert_eq!(back.len(), values.len(), "{name}");
            let worst = values
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= 0.5, "{name}: {worst}");
        }
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let q8: Format = "q8_0".parse().unwrap();
        assert!(
            encode(q8, &[0; 7], None)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            encode(q8, &f32_bytes(&[1.0; 33]), None)
                .unwrap_err()
                .contains("multiple of 32")
        );
        assert!(
            decode(q8, &[0; 35], None)
                .unwrap_err()
                .contains("not a whole number")
        );
        let int8: Format = "int8".parse().unwrap();
        assert!(
            decode(int8, &[0; 12], None)
                .unwrap_err()
                .contains("--row-length")
        );
        assert!(
            "q3_k"
                .parse::<Format>()
                .unwrap_err()
                .contains("expected f16")
        );
    }
}
