//! The block-scaled formats beyond GGML Q8_0/Q4_0, int8 and f32-scaled FP8: OCP FP8 E5M2, the
//! OCP MX formats, NVFP4, GGML's MXFP4 and K-quants, and DeepSeek's FP8 with UE8M0 scales.
//! Each codec is bit-exact with its source (cited in `docs/formats.md`) and is checked against
//! vectors made by implementations written elsewhere (`reference/tests/vectors/`).
//!
//! [`BlockFormat`] names them; [`Options`] carries the declared choices (scale rule, element
//! rounding, overflow) and [`encode`] / [`decode`] check shapes and choices and return
//! [`FormatError`] for what does not fit.

pub mod deepseek_ue8m0;
pub mod e8m0;
pub mod ggml_mxfp4;
pub mod kquant;
pub mod minifloat;
pub mod mx;
pub mod nvfp4;

use std::fmt;
use std::str::FromStr;

pub use e8m0::ScaleRule;
pub use minifloat::{ElementRounding, Overflow};
use mx::MxElement;

/// A format of this module, by its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockFormat {
    /// `fp8-e5m2`: one OCP E5M2 byte per value, no scaling.
    Fp8E5M2,
    /// `mxfp8-e4m3`: MX blocks of 32 E4M3 elements.
    MxFp8E4M3,
    /// `mxfp8-e5m2`: MX blocks of 32 E5M2 elements.
    MxFp8E5M2,
    /// `mxfp6-e2m3`: MX blocks of 32 E2M3 elements.
    MxFp6E2M3,
    /// `mxfp6-e3m2`: MX blocks of 32 E3M2 elements.
    MxFp6E3M2,
    /// `mxfp4`: MX blocks of 32 E2M1 elements, OCP nibble order.
    MxFp4,
    /// `mxint8`: MX blocks of 32 int8 elements.
    MxInt8,
    /// `nvfp4`: NVIDIA's E2M1 in blocks of 16 with E4M3 block scales and an f32 tensor scale.
    NvFp4,
    /// `ggml-mxfp4`: GGML's `block_mxfp4`.
    GgmlMxfp4,
    /// `q4_k`: GGML Q4_K.
    Q4K,
    /// `q5_k`: GGML Q5_K.
    Q5K,
    /// `q6_k`: GGML Q6_K.
    Q6K,
    /// `fp8-e4m3-1x128-ue8m0`: E4M3 with one UE8M0 scale per 1×128 tile.
    Fp8E4M3TileUe8m0,
    /// `fp8-e4m3-128x128-ue8m0`: E4M3 with one UE8M0 scale per 128×128 block.
    Fp8E4M3BlockUe8m0,
}

impl BlockFormat {
    /// Every format, in the order `docs/formats.md` lists them.
    pub const ALL: [BlockFormat; 14] = [
        BlockFormat::Fp8E5M2,
        BlockFormat::MxFp8E4M3,
        BlockFormat::MxFp8E5M2,
        BlockFormat::MxFp6E2M3,
        BlockFormat::MxFp6E3M2,
        BlockFormat::MxFp4,
        BlockFormat::MxInt8,
        BlockFormat::NvFp4,
        BlockFormat::GgmlMxfp4,
        BlockFormat::Q4K,
        BlockFormat::Q5K,
        BlockFormat::Q6K,
        BlockFormat::Fp8E4M3TileUe8m0,
        BlockFormat::Fp8E4M3BlockUe8m0,
    ];

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BlockFormat::Fp8E5M2 => "fp8-e5m2",
            BlockFormat::MxFp8E4M3 => "mxfp8-e4m3",
            BlockFormat::MxFp8E5M2 => "mxfp8-e5m2",
            BlockFormat::MxFp6E2M3 => "mxfp6-e2m3",
            BlockFormat::MxFp6E3M2 => "mxfp6-e3m2",
            BlockFormat::MxFp4 => "mxfp4",
            BlockFormat::MxInt8 => "mxint8",
            BlockFormat::NvFp4 => "nvfp4",
            BlockFormat::GgmlMxfp4 => "ggml-mxfp4",
            BlockFormat::Q4K => "q4_k",
            BlockFormat::Q5K => "q5_k",
            BlockFormat::Q6K => "q6_k",
            BlockFormat::Fp8E4M3TileUe8m0 => "fp8-e4m3-1x128-ue8m0",
            BlockFormat::Fp8E4M3BlockUe8m0 => "fp8-e4m3-128x128-ue8m0",
        }
    }

    /// The MX element type, for the MX formats.
    pub fn mx_element(self) -> Option<MxElement> {
        Some(match self {
            BlockFormat::MxFp8E4M3 => mx::MXFP8_E4M3,
            BlockFormat::MxFp8E5M2 => mx::MXFP8_E5M2,
            BlockFormat::MxFp6E2M3 => mx::MXFP6_E2M3,
            BlockFormat::MxFp6E3M2 => mx::MXFP6_E3M2,
            BlockFormat::MxFp4 => mx::MXFP4,
            BlockFormat::MxInt8 => mx::MXINT8,
            _ => return None,
        })
    }

    /// Values per block along a row (`cols` must be a multiple), or `None` when any row
    /// length goes.
    pub fn block(self) -> Option<usize> {
        match self {
            BlockFormat::Fp8E5M2
            | BlockFormat::Fp8E4M3TileUe8m0
            | BlockFormat::Fp8E4M3BlockUe8m0 => None,
            BlockFormat::NvFp4 => Some(nvfp4::NVFP4_BLOCK),
            BlockFormat::GgmlMxfp4 => Some(ggml_mxfp4::GGML_MXFP4_BLOCK),
            BlockFormat::Q4K | BlockFormat::Q5K | BlockFormat::Q6K => Some(kquant::QK_K),
            _ => Some(mx::MX_BLOCK),
        }
    }

    /// Whether the layout depends on the row length (scales per tile of rows); such formats
    /// need `--row-length` to decode.
    pub fn needs_row_length(self) -> bool {
        matches!(
            self,
            BlockFormat::Fp8E4M3TileUe8m0 | BlockFormat::Fp8E4M3BlockUe8m0
        )
    }

    /// Whether `cols` is a valid row length.
    pub fn check_cols(self, cols: usize) -> Result<(), FormatError> {
        match self.block() {
            Some(b) if cols == 0 || cols % b != 0 => Err(FormatError::RowLength {
                format: self,
                cols,
                block: b,
            }),
            _ => Ok(()),
        }
    }

    /// Bytes of a rows × cols matrix.
    pub fn encoded_len(self, rows: usize, cols: usize) -> usize {
        let n = rows * cols;
        if let Some(e) = self.mx_element() {
            return n / mx::MX_BLOCK * e.block_bytes();
        }
        match self {
            BlockFormat::Fp8E5M2 => n,
            BlockFormat::NvFp4 => nvfp4::encoded_len(n),
            BlockFormat::GgmlMxfp4 => n / 32 * ggml_mxfp4::GGML_MXFP4_BLOCK_BYTES,
            BlockFormat::Q4K => n / kquant::QK_K * kquant::Q4_K_BYTES,
            BlockFormat::Q5K => n / kquant::QK_K * kquant::Q5_K_BYTES,
            BlockFormat::Q6K => n / kquant::QK_K * kquant::Q6_K_BYTES,
            BlockFormat::Fp8E4M3TileUe8m0 => deepseek_ue8m0::encoded_len(rows, cols, 1),
            _ => deepseek_ue8m0::encoded_len(rows, cols, crosscheck_spec::FP8_TILE),
        }
    }

    /// The options this format accepts, with their defaults filled in; a choice given for a
    /// format that has none is an error.
    pub fn resolve(self, options: Options) -> Result<Resolved, FormatError> {
        let is_mx = self.mx_element().is_some();
        let refuse = |what: &'static str| FormatError::NoChoice {
            format: self,
            option: what,
        };
        if options.scale_rule.is_some() && !is_mx {
            return Err(refuse("--scale-rule"));
        }
        if options.rounding.is_some() && !is_mx {
            return Err(refuse("--rounding"));
        }
        if options.overflow.is_some() && self != BlockFormat::Fp8E5M2 {
            return Err(refuse("--overflow"));
        }
        Ok(Resolved {
            scale_rule: options.scale_rule.unwrap_or_default(),
            rounding: options.rounding.unwrap_or_default(),
            overflow: options.overflow.unwrap_or(Overflow::Infinity),
        })
    }
}

impl fmt::Display for BlockFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BlockFormat {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BlockFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| FormatError::Unknown(s.to_string()))
    }
}

/// Declared choices as given (None: not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// The MX scale rule (MX formats only; default floor).
    pub scale_rule: Option<ScaleRule>,
    /// Element rounding (MX formats only; default nearest even).
    pub rounding: Option<ElementRounding>,
    /// What E5M2 does past 57344 (`fp8-e5m2` only; default ∞, as IEEE and ml_dtypes).
    pub overflow: Option<Overflow>,
}

/// Options with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Scale rule.
    pub scale_rule: ScaleRule,
    /// Element rounding.
    pub rounding: ElementRounding,
    /// E5M2 overflow.
    pub overflow: Overflow,
}

/// What went wrong at the boundary of these codecs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// No format has this name.
    Unknown(String),
    /// A choice given for a format that does not have it.
    NoChoice {
        /// The format.
        format: BlockFormat,
        /// The option, as spelled on the command line.
        option: &'static str,
    },
    /// A row length that is not a whole number of blocks.
    RowLength {
        /// The format.
        format: BlockFormat,
        /// The row length given.
        cols: usize,
        /// The block length it must be a multiple of.
        block: usize,
    },
    /// A value count or byte count that does not match the shape.
    Length {
        /// The format.
        format: BlockFormat,
        /// What the length is of, and what it should be.
        detail: String,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Unknown(s) => {
                let names: Vec<&str> = BlockFormat::ALL.iter().map(|b| b.name()).collect();
                write!(
                    f,
                    "unknown format `{s}` (expected one of {})",
                    names.join(", ")
                )
            }
            FormatError::NoChoice { format, option } => write!(
                f,
                "{format} has no choice of {}: {option} applies to {}",
                &option[2..],
                if *option == "--overflow" {
                    "fp8-e5m2 only"
                } else {
                    "the MX formats only (mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, mxint8)"
                }
            ),
            FormatError::RowLength {
                format,
                cols,
                block,
            } => write!(
                f,
                "{format} needs rows of a multiple of {block} values, not {cols}"
            ),
            FormatError::Length { format, detail } => write!(f, "{format}: {detail}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Quantizes a row-major rows × cols matrix.
pub fn encode(
    format: BlockFormat,
    rows: usize,
    cols: usize,
    values: &[f32],
    options: Options,
) -> Result<Vec<u8>, FormatError> {
    let o = format.resolve(options)?;
    format.check_cols(cols)?;
    if values.len() != rows * cols {
        return Err(FormatError::Length {
            format,
            detail: format!("{} values for {rows}×{cols}", values.len()),
        });
    }
    if let Some(e) = format.mx_element() {
        return Ok(mx::encode(e, o.scale_rule, o.rounding, values));
    }
    Ok(match format {
        BlockFormat::Fp8E5M2 => values
            .iter()
            .map(|&v| minifloat::E5M2.encode(v, ElementRounding::Even, o.overflow))
            .collect(),
        BlockFormat::NvFp4 => nvfp4::encode(values),
        BlockFormat::GgmlMxfp4 => ggml_mxfp4::encode(values),
        BlockFormat::Q4K => kquant::encode_q4_k(values),
        BlockFormat::Q5K => kquant::encode_q5_k(values),
        BlockFormat::Q6K => kquant::encode_q6_k(values),
        BlockFormat::Fp8E4M3TileUe8m0 => deepseek_ue8m0::encode(rows, cols, 1, values),
        _ => deepseek_ue8m0::encode(rows, cols, crosscheck_spec::FP8_TILE, values),
    })
}

/// Dequantizes to f32 as each format defines it: GGML's formats by their f32 operations, the
/// others as the exact value scale × element rounded to f32 (nearest even; past f32's range, ∞).
pub fn decode(
    format: BlockFormat,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> Result<Vec<f32>, FormatError> {
    check_bytes(format, rows, cols, bytes)?;
    Ok(match format {
        BlockFormat::GgmlMxfp4 => ggml_mxfp4::decode(bytes),
        BlockFormat::Q4K => kquant::decode_q4_k(bytes),
        BlockFormat::Q5K => kquant::decode_q5_k(bytes),
        BlockFormat::Q6K => kquant::decode_q6_k(bytes),
        _ => exact(format, rows, cols, bytes)
            .into_iter()
            .map(|v| v as f32)
            .collect(),
    })
}

/// The exact real values a matrix stands for (in f64, where every scale × element product is
/// exact); for GGML's formats, their f32 values widened.
pub fn dequantize_exact(
    format: BlockFormat,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> Result<Vec<f64>, FormatError> {
    check_bytes(format, rows, cols, bytes)?;
    Ok(match format {
        BlockFormat::GgmlMxfp4 | BlockFormat::Q4K | BlockFormat::Q5K | BlockFormat::Q6K => {
            decode(format, rows, cols, bytes)?
                .into_iter()
                .map(f64::from)
                .collect()
        }
        _ => exact(format, rows, cols, bytes),
    })
}

fn check_bytes(
    format: BlockFormat,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> Result<(), FormatError> {
    format.check_cols(cols)?;
    let want = format.encoded_len(rows, cols);
    if bytes.len() != want {
        return Err(FormatError::Length {
            format,
            detail: format!("{} bytes for {rows}×{cols} (expected {want})", bytes.len()),
        });
    }
    Ok(())
}

fn exact(format: BlockFormat, rows: usize, cols: usize, bytes: &[u8]) -> Vec<f64> {
    if let Some(e) = format.mx_element() {
        return mx::decode_exact(e, bytes);
    }
    match format {
        BlockFormat::Fp8E5M2 => bytes
            .iter()
            .map(|&b| minifloat::E5M2.decode_f64(b))
            .collect(),
        BlockFormat::NvFp4 => nvfp4::decode_exact(bytes),
        BlockFormat::Fp8E4M3TileUe8m0 => deepseek_ue8m0::decode_exact(rows, cols, 1, bytes),
        _ => deepseek_ue8m0::decode_exact(rows, cols, crosscheck_spec::FP8_TILE, bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_choices_are_checked() {
        for f in BlockFormat::ALL {
            assert_eq!(f.name().parse::<BlockFormat>().unwrap(), f);
        }
        let rule = Options {
            scale_rule: Some(ScaleRule::Ceil),
            ..Options::default()
        };
        assert!(BlockFormat::MxFp4.resolve(rule).is_ok());
        let err = BlockFormat::Q4K.resolve(rule).unwrap_err();
        assert!(
            err.to_string().contains("q4_k has no choice of scale-rule"),
            "{err}"
        );
        assert!(BlockFormat::NvFp4.check_cols(24).is_err());
    }

    #[test]
    fn every_format_decodes_near_what_it_encoded() {
        let (rows, cols) = (2, 256);
        let x: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 8.0)
            .collect();
        for f in BlockFormat::ALL {
            let bytes = encode(f, rows, cols, &x, Options::default()).unwrap();
            assert_eq!(bytes.len(), f.encoded_len(rows, cols), "{f}");
            let back = decode(f, rows, cols, &bytes).unwrap();
            let worst = x
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // FP4 and the 4-bit K-quant are the coarsest: half a step of 6 / amax 6 = 1.
            assert!(worst <= 1.0, "{f}: {worst}");
        }
    }
}
