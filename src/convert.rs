//! `crosscheck encode` / `decode`: raw little-endian f32 to a format's exact bytes and back,
//! through the reference codecs, so blocks written by another stack can be checked bit for bit.

use std::fmt;
use std::str::FromStr;

use crosscheck_reference::formats::{self, BlockFormat, Options};
use crosscheck_reference::{codec, quant};
use crosscheck_spec::{GGML_BLOCK, Precision, QuantFormat};

/// A format `encode` and `decode` understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// IEEE binary16 or bfloat16, 2 bytes per value.
    Half(Precision),
    /// A quantized format.
    Quant(QuantFormat),
    /// A block format of `crosscheck_reference::formats` (MX, NVFP4, GGML MXFP4 and K-quants,
    /// FP8 E5M2, FP8 with UE8M0 scales).
    Block(BlockFormat),
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f16" => Ok(Format::Half(Precision::F16)),
            "bf16" => Ok(Format::Half(Precision::BF16)),
            // Block formats first: the formats both know take the block codec's options.
            _ => s
                .parse()
                .map(Format::Block)
                .or_else(|_| s.parse().map(Format::Quant))
                .map_err(|_| {
                    // Formats both know (MXINT8, GGML's MXFP4, the UE8M0 layouts) once.
                    let mut names: Vec<&str> = QuantFormat::ALL.iter().map(|q| q.name()).collect();
                    for b in BlockFormat::ALL {
                        if !names.contains(&b.name()) {
                            names.push(b.name());
                        }
                    }
                    format!(
                        "unknown format `{s}` (expected f16, bf16, {})",
                        names.join(", ")
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
            Format::Block(b) => write!(f, "{b}"),
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
    match format {
        Format::Quant(q) => q.check_cols(cols)?,
        Format::Block(b) => b.check_cols(cols).map_err(|e| e.to_string())?,
        Format::Half(_) => {}
    }
    Ok((count / cols, cols))
}

/// The declared choices (`--scale-rule`, `--rounding`, `--overflow`) are for block formats
/// that have them; given for any other format they are an error.
fn check_options(format: Format, options: Options) -> Result<(), String> {
    match format {
        Format::Block(b) => b.resolve(options).map(|_| ()).map_err(|e| e.to_string()),
        _ if options == Options::default() => Ok(()),
        _ => Err(format!(
            "{format} has no scale rule, rounding or overflow choice (these apply to the MX formats and fp8-e5m2)"
        )),
    }
}

/// Raw little-endian f32 bytes → `format`'s bytes (rows of `row_length` values where the format
/// has per-row or per-tile scales; the whole input is one row otherwise), with the declared
/// `options` where the format has choices.
pub fn encode(
    format: Format,
    input: &[u8],
    row_length: Option<usize>,
    options: Options,
) -> Result<Vec<u8>, String> {
    check_options(format, options)?;
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
        Format::Block(b) => {
            formats::encode(b, rows, cols, &values, options).map_err(|e| e.to_string())?
        }
    })
}

/// `format`'s bytes → raw little-endian f32 bytes. Formats with per-row or per-tile scales
/// (int8, the scaled FP8 layouts) need the row length to know where the scales end.
pub fn decode(
    format: Format,
    input: &[u8],
    row_length: Option<usize>,
    options: Options,
) -> Result<Vec<u8>, String> {
    check_options(format, options)?;
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
        Format::Block(b) => {
            let (rows, cols) = block_shape(b, input.len(), row_length)?;
            formats::decode(b, rows, cols, input).map_err(|e| e.to_string())?
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

/// Rows and columns of `len` bytes of `b`: rows of `row_length` values, or one row of as many
/// blocks as the bytes hold when the layout does not depend on the row length.
fn block_shape(
    b: BlockFormat,
    len: usize,
    row_length: Option<usize>,
) -> Result<(usize, usize), String> {
    let cols = match row_length {
        Some(c) => c,
        None if b.needs_row_length() => {
            return Err(format!("{b} has per-tile scales: give --row-length"));
        }
        None => {
            let block = b.block().unwrap_or(1);
            let per_block = b.encoded_len(1, block) - b.encoded_len(1, 0);
            let head = b.encoded_len(1, 0);
            if len < head || (len - head) % per_block != 0 {
                return Err(format!(
                    "{len} bytes are not a whole number of {b} blocks ({per_block} bytes each)"
                ));
            }
            (len - head) / per_block * block
        }
    };
    b.check_cols(cols).map_err(|e| e.to_string())?;
    let rows = (1..=len.max(1))
        .find(|&r| b.encoded_len(r, cols) >= len)
        .filter(|&r| b.encoded_len(r, cols) == len);
    rows.map(|r| (r, cols))
        .ok_or_else(|| format!("{len} bytes are not a whole number of {b} rows of {cols} values"))
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
            "fp8-e5m2",
            "mxfp8-e4m3",
            "mxfp8-e5m2",
            "mxfp6-e2m3",
            "mxfp6-e3m2",
            "mxfp4",
            "mxint8",
            "nvfp4",
            "ggml-mxfp4",
            "q4_k",
            "q5_k",
            "q6_k",
            "fp8-e4m3-1x128-ue8m0",
            "fp8-e4m3-128x128-ue8m0",
        ] {
            let format: Format = name.parse().unwrap();
            let rows = Some(if name.starts_with("q") && name.ends_with("_k") {
                256
            } else {
                64
            });
            let bytes = encode(format, &f32_bytes(&values), rows, Options::default()).unwrap();
            let back = codec::decode(
                Precision::F32,
                &decode(format, &bytes, rows, Options::default()).unwrap(),
            );
            assert_eq!(back.len(), values.len(), "{name}");
            let worst = values
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // Under the MX floor rule a block's largest values saturate: 7.9375 → 6 in MXFP4
            // (top 1.5 · 2^2), → 7 in MXFP8 E4M3 (top 1.75 · 2^8); Q4_K steps by amax / 15.
            let limit = if name.contains("fp4") || name.starts_with("mx") || name == "q4_k" {
                2.0
            } else {
                0.5
            };
            assert!(worst <= limit, "{name}: {worst}");
        }
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let q8: Format = "q8_0".parse().unwrap();
        assert!(
            encode(q8, &[0; 7], None, Options::default())
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            encode(q8, &f32_bytes(&[1.0; 33]), None, Options::default())
                .unwrap_err()
                .contains("multiple of 32")
        );
        assert!(
            decode(q8, &[0; 35], None, Options::default())
                .unwrap_err()
                .contains("not a whole number")
        );
        let int8: Format = "int8".parse().unwrap();
        assert!(
            decode(int8, &[0; 12], None, Options::default())
                .unwrap_err()
                .contains("--row-length")
        );
        assert!(
            "q3_k"
                .parse::<Format>()
                .unwrap_err()
                .contains("expected f16")
        );
        let rule = Options {
            scale_rule: Some("ceil".parse().unwrap()),
            ..Options::default()
        };
        let values = f32_bytes(&[1.0; 256]);
        assert!(encode("mxfp4".parse().unwrap(), &values, None, rule).is_ok());
        for name in ["q4_k", "nvfp4", "q8_0", "f16"] {
            let err = encode(name.parse().unwrap(), &values, None, rule).unwrap_err();
            assert!(
                err.contains("no choice") || err.contains("has no scale rule"),
                "{name}: {err}"
            );
        }
        // Block formats without per-tile scales decode without --row-length.
        let q6 = encode("q6_k".parse().unwrap(), &values, None, Options::default()).unwrap();
        assert_eq!(
            decode("q6_k".parse().unwrap(), &q6, None, Options::default()).unwrap(),
            values
        );
        let nv = encode("nvfp4".parse().unwrap(), &values, None, Options::default()).unwrap();
        assert_eq!(
            decode("nvfp4".parse().unwrap(), &nv, None, Options::default()).unwrap(),
            values
        );
        assert!(
            decode(
                "fp8-e4m3-1x128-ue8m0".parse().unwrap(),
                &[0; 129],
                None,
                Options::default()
            )
            .unwrap_err()
            .contains("--row-length")
        );
    }
}
