//! Quantized storage formats and the problems that produce, consume and multiply them.
//! The byte layouts here are the contract; `docs/formats.md` documents them for users.

use std::fmt;
use std::str::FromStr;

use crate::KernelError;

/// Values per GGML block (Q8_0 and Q4_0).
pub const GGML_BLOCK: usize = 32;

/// Side of a DeepSeek-style FP8 scaling tile (1×128 for activations, 128×128 for weights).
pub const FP8_TILE: usize = 128;

/// Values per OCP MX block.
pub const MX_BLOCK: usize = 32;

/// Values per NVFP4 block.
pub const NVFP4_BLOCK: usize = 16;

/// Values per GGML K-quant super-block.
pub const K_SUPER_BLOCK: usize = 256;

/// A family of quantized formats that one quantized kernel handles; quantized kernels are
/// named after theirs (`quantize/q8_0`, `qmatmul/fp8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantFamily {
    /// GGML Q8_0.
    Q8_0,
    /// GGML Q4_0.
    Q4_0,
    /// Symmetric int8 with per-row f32 scales.
    Int8,
    /// FP8 E4M3, unscaled or with DeepSeek-style 1×128 / 128×128 scales (f32, or UE8M0 bytes
    /// as DeepGEMM's `use_ue8m0` path writes them).
    Fp8,
    /// The MX formats (blocks of 32 with an E8M0 scale: OCP's minifloat elements and MXINT8,
    /// and GGML's `block_mxfp4`, E2M1 under an E8M0 byte in Q4_0's nibble order) and unscaled
    /// FP8 E5M2.
    Mx,
    /// NVIDIA NVFP4: E2M1 in blocks of 16, E4M3 block scales, an f32 tensor scale.
    NvFp4,
    /// GGML's K-quants Q4_K, Q5_K and Q6_K (super-blocks of 256).
    KQuant,
    /// Int8 × int8 with a per-channel bias in one of Ascend QuantMatmul's epilogue orders: an
    /// i32 bias before the per-token × per-channel scaling, or an f32 or bf16 bias after it.
    W8A8Bias,
    /// Weight-only antiquant (Ascend WeightQuantBatchMatmul): int8 or int4 weights with an f16
    /// scale and offset per group along k, dequantized as (w + offset) · scale.
    Antiquant,
}

impl QuantFamily {
    /// Every family, in report order.
    pub const ALL: [QuantFamily; 9] = [
        QuantFamily::Q8_0,
        QuantFamily::Q4_0,
        QuantFamily::Int8,
        QuantFamily::Fp8,
        QuantFamily::Mx,
        QuantFamily::NvFp4,
        QuantFamily::KQuant,
        QuantFamily::W8A8Bias,
        QuantFamily::Antiquant,
    ];

    /// The kernel name: `q8_0`, `q4_0`, `int8`, `fp8`, `mx`, `nvfp4`, `kquant`, `w8a8-bias` or
    /// `antiquant`.
    pub const fn name(self) -> &'static str {
        match self {
            QuantFamily::Q8_0 => "q8_0",
            QuantFamily::Q4_0 => "q4_0",
            QuantFamily::Int8 => "int8",
            QuantFamily::Fp8 => "fp8",
            QuantFamily::Mx => "mx",
            QuantFamily::NvFp4 => "nvfp4",
            QuantFamily::KQuant => "kquant",
            QuantFamily::W8A8Bias => "w8a8-bias",
            QuantFamily::Antiquant => "antiquant",
        }
    }

    /// The family a quantized kernel named `kernel` handles: the one named so, or the one
    /// before a declared-variant suffix (`mx-ceil` is the `mx` family under the ceil scale
    /// rule).
    pub fn of_kernel(kernel: &str) -> Option<QuantFamily> {
        QuantFamily::ALL.into_iter().find(|f| {
            kernel == f.name()
                || kernel
                    .strip_prefix(f.name())
                    .is_some_and(|rest| rest.starts_with('-'))
        })
    }

    /// The formats of this family.
    pub fn formats(self) -> Vec<QuantFormat> {
        QuantFormat::ALL
            .into_iter()
            .filter(|f| f.family() == self)
            .collect()
    }
}

impl fmt::Display for QuantFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QuantFamily {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QuantFamily::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown quantized kernel family `{s}` (use q8_0, q4_0, int8, fp8, mx, nvfp4, kquant, w8a8-bias or antiquant)")
            })
    }
}

/// A quantized format of a rows × cols matrix of f32 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantFormat {
    /// GGML Q8_0: blocks of 32 values along each row, each an f16 scale d (little-endian) and 32
    /// signed bytes q; value = d·q. 34 bytes per block; cols must be a multiple of 32.
    Q8_0,
    /// GGML Q4_0: blocks of 32, each an f16 scale d and 16 bytes; byte j holds element j in its
    /// low nibble and element j + 16 in its high nibble; value = d·(q − 8). 18 bytes per block.
    Q4_0,
    /// Symmetric int8 with one f32 scale per row (per output channel of weights, per token of
    /// activations): each row is its f32 scale (little-endian) then `cols` signed bytes;
    /// value = q·scale.
    Int8,
    /// OCP FP8 E4M3, one byte per value, no scaling; conversion saturates at ±448.
    Fp8E4M3,
    /// E4M3 with one f32 scale per 1×128 tile of each row (DeepSeek-V3 activations): all the
    /// scales (rows × ⌈cols/128⌉, row-major, little-endian), then rows × cols bytes;
    /// value = e4m3·scale. A last tile shorter than 128 has its own scale.
    Fp8E4M3Tile,
    /// E4M3 with one f32 scale per 128×128 block (DeepSeek-V3 weights): the scales
    /// (⌈rows/128⌉ × ⌈cols/128⌉, row-major), then rows × cols bytes.
    Fp8E4M3Block,
    /// OCP FP8 E5M2, one byte per value, no scaling; past 57344 rounds to ±∞ (IEEE).
    Fp8E5M2,
    /// OCP MXFP8 with E4M3 elements: per block of 32 along the row, an E8M0 scale byte then 32
    /// element bytes; value = 2^(scale − 127)·element.
    MxFp8E4M3,
    /// OCP MXFP8 with E5M2 elements, laid out as [`QuantFormat::MxFp8E4M3`].
    MxFp8E5M2,
    /// OCP MXFP6 with E2M3 elements: per block, the scale byte then 24 bytes holding element i
    /// in bits 6i … 6i + 5 of a little-endian bit stream.
    MxFp6E2M3,
    /// OCP MXFP6 with E3M2 elements, laid out as [`QuantFormat::MxFp6E2M3`].
    MxFp6E3M2,
    /// OCP MXFP4 (E2M1 elements): per block, the scale byte then 16 bytes, element 2i in the
    /// low nibble of byte i and 2i + 1 in its high nibble.
    MxFp4,
    /// NVIDIA NVFP4: the f32 tensor scale, then per block of 16 an E4M3 scale byte and 8 bytes
    /// of E2M1 codes (element 2i in the low nibble of byte i); value = e2m1·scale·tensor scale.
    NvFp4,
    /// GGML Q4_K: 144 bytes per super-block of 256 (`docs/formats.md`).
    Q4K,
    /// GGML Q5_K: 176 bytes per super-block of 256.
    Q5K,
    /// GGML Q6_K: 210 bytes per super-block of 256.
    Q6K,
    /// Int8 weights with an i32 bias added to the integer sum before scaling (Ascend
    /// QuantMatmul, bias INT32): each row (output channel) is its f32 scale, its i32 bias (both
    /// little-endian), then `cols` signed bytes; C = (Σ q_a·q_w + bias) · s_token · s_channel.
    W8A8BiasI32,
    /// [`QuantFormat::W8A8BiasI32`] under the 19-bit scale rule of Ascend's TransQuantParam:
    /// the channel scale used is the stored f32 with its low 13 bits cleared (`& 0xFFFFE000`).
    W8A8BiasI32S19,
    /// Int8 weights with an f32 bias added after scaling: rows as [`QuantFormat::W8A8BiasI32`]
    /// with an f32 bias; C = Σ q_a·q_w · s_token · s_channel + bias, in f32.
    W8A8BiasF32,
    /// As [`QuantFormat::W8A8BiasF32`] with a bf16 bias (stored as the f32 of the same value)
    /// and a bf16 output: the f32 sum with the bias is rounded to bf16 (nearest even).
    W8A8BiasBf16,
    /// Weight-only int8 (W8A16) in groups of 64 along k: all the (f16 scale, f16 offset) pairs
    /// (rows × cols/64, row-major, little-endian, scale first), then rows × cols signed bytes;
    /// value = (q + offset) · scale.
    AntiquantW8G64,
    /// Weight-only int4 (W4A16) in groups of 32: the (scale, offset) pairs as
    /// [`QuantFormat::AntiquantW8G64`], then rows × cols / 2 bytes, element 2i in the low nibble
    /// of byte i, each a two's-complement int4 in −8 … 7; value = (q + offset) · scale.
    AntiquantW4G32,
    /// OCP MXINT8: per block of 32 along the row, an E8M0 scale byte then 32 two's-complement
    /// bytes q, each standing for q / 64 (within ±127); value = 2^(scale − 127)·q/64.
    MxInt8,
    /// GGML's MXFP4 (`block_mxfp4`): per block of 32, the E8M0 byte e then 16 bytes, byte j
    /// holding element j in its low nibble and j + 16 in its high nibble (Q4_0's order);
    /// value = E2M1·2^(e − 127) (0xFF is 2^128, not NaN); quantized as ggml's
    /// `quantize_row_mxfp4_ref` (`docs/formats.md`).
    GgmlMxFp4,
    /// [`QuantFormat::Fp8E4M3Tile`] with UE8M0 scales (DeepGEMM's `per_token_cast_to_fp8` with
    /// `use_ue8m0`): one E8M0 byte per 1×128 tile (rows × ⌈cols/128⌉, row-major), then the
    /// codes; the scale is amax/448 (amax at least 1e-4) rounded up to a power of two.
    Fp8E4M3TileUe8m0,
    /// [`QuantFormat::Fp8E4M3Block`] with UE8M0 scales (`per_block_cast_to_fp8` with
    /// `use_ue8m0`): one E8M0 byte per 128×128 block, then the codes.
    Fp8E4M3BlockUe8m0,
}

impl QuantFormat {
    /// Every format, in report order.
    pub const ALL: [QuantFormat; 26] = [
        QuantFormat::Q8_0,
        QuantFormat::Q4_0,
        QuantFormat::Int8,
        QuantFormat::Fp8E4M3,
        QuantFormat::Fp8E4M3Tile,
        QuantFormat::Fp8E4M3Block,
        QuantFormat::Fp8E5M2,
        QuantFormat::MxFp8E4M3,
        QuantFormat::MxFp8E5M2,
        QuantFormat::MxFp6E2M3,
        QuantFormat::MxFp6E3M2,
        QuantFormat::MxFp4,
        QuantFormat::NvFp4,
        QuantFormat::Q4K,
        QuantFormat::Q5K,
        QuantFormat::Q6K,
        QuantFormat::W8A8BiasI32,
        QuantFormat::W8A8BiasI32S19,
        QuantFormat::W8A8BiasF32,
        QuantFormat::W8A8BiasBf16,
        QuantFormat::AntiquantW8G64,
        QuantFormat::AntiquantW4G32,
        QuantFormat::MxInt8,
        QuantFormat::GgmlMxFp4,
        QuantFormat::Fp8E4M3TileUe8m0,
        QuantFormat::Fp8E4M3BlockUe8m0,
    ];

    /// Name used on the command line and in case ids.
    pub fn name(self) -> &'static str {
        match self {
            QuantFormat::Q8_0 => "q8_0",
            QuantFormat::Q4_0 => "q4_0",
            QuantFormat::Int8 => "int8",
            QuantFormat::Fp8E4M3 => "fp8-e4m3",
            QuantFormat::Fp8E4M3Tile => "fp8-e4m3-1x128",
            QuantFormat::Fp8E4M3Block => "fp8-e4m3-128x128",
            QuantFormat::Fp8E5M2 => "fp8-e5m2",
            QuantFormat::MxFp8E4M3 => "mxfp8-e4m3",
            QuantFormat::MxFp8E5M2 => "mxfp8-e5m2",
            QuantFormat::MxFp6E2M3 => "mxfp6-e2m3",
            QuantFormat::MxFp6E3M2 => "mxfp6-e3m2",
            QuantFormat::MxFp4 => "mxfp4",
            QuantFormat::NvFp4 => "nvfp4",
            QuantFormat::Q4K => "q4_k",
            QuantFormat::Q5K => "q5_k",
            QuantFormat::Q6K => "q6_k",
            QuantFormat::W8A8BiasI32 => "w8a8-bias-i32",
            QuantFormat::W8A8BiasI32S19 => "w8a8-bias-i32-s19",
            QuantFormat::W8A8BiasF32 => "w8a8-bias-f32",
            QuantFormat::W8A8BiasBf16 => "w8a8-bias-bf16",
            QuantFormat::AntiquantW8G64 => "antiquant-w8-g64",
            QuantFormat::AntiquantW4G32 => "antiquant-w4-g32",
            QuantFormat::MxInt8 => "mxint8",
            QuantFormat::GgmlMxFp4 => "ggml-mxfp4",
            QuantFormat::Fp8E4M3TileUe8m0 => "fp8-e4m3-1x128-ue8m0",
            QuantFormat::Fp8E4M3BlockUe8m0 => "fp8-e4m3-128x128-ue8m0",
        }
    }

    /// The kernel family that handles this format.
    pub fn family(self) -> QuantFamily {
        match self {
            QuantFormat::Q8_0 => QuantFamily::Q8_0,
            QuantFormat::Q4_0 => QuantFamily::Q4_0,
            QuantFormat::Int8 => QuantFamily::Int8,
            QuantFormat::Fp8E4M3
            | QuantFormat::Fp8E4M3Tile
            | QuantFormat::Fp8E4M3Block
            | QuantFormat::Fp8E4M3TileUe8m0
            | QuantFormat::Fp8E4M3BlockUe8m0 => QuantFamily::Fp8,
            QuantFormat::Fp8E5M2
            | QuantFormat::MxFp8E4M3
            | QuantFormat::MxFp8E5M2
            | QuantFormat::MxFp6E2M3
            | QuantFormat::MxFp6E3M2
            | QuantFormat::MxFp4
            | QuantFormat::MxInt8
            | QuantFormat::GgmlMxFp4 => QuantFamily::Mx,
            QuantFormat::NvFp4 => QuantFamily::NvFp4,
            QuantFormat::Q4K | QuantFormat::Q5K | QuantFormat::Q6K => QuantFamily::KQuant,
            QuantFormat::W8A8BiasI32
            | QuantFormat::W8A8BiasI32S19
            | QuantFormat::W8A8BiasF32
            | QuantFormat::W8A8BiasBf16 => QuantFamily::W8A8Bias,
            QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => QuantFamily::Antiquant,
        }
    }

    /// Bits per code and values per (scale, offset) group of an antiquant format.
    pub fn antiquant(self) -> Option<(usize, usize)> {
        match self {
            QuantFormat::AntiquantW8G64 => Some((8, 64)),
            QuantFormat::AntiquantW4G32 => Some((4, 32)),
            _ => None,
        }
    }

    /// Values per block along a row: `cols` must be a multiple of it (1 when any row length
    /// goes).
    pub fn row_block(self) -> usize {
        match self {
            QuantFormat::Q8_0 | QuantFormat::Q4_0 => GGML_BLOCK,
            QuantFormat::MxFp8E4M3
            | QuantFormat::MxFp8E5M2
            | QuantFormat::MxFp6E2M3
            | QuantFormat::MxFp6E3M2
            | QuantFormat::MxFp4
            | QuantFormat::MxInt8
            | QuantFormat::GgmlMxFp4 => MX_BLOCK,
            QuantFormat::NvFp4 => NVFP4_BLOCK,
            QuantFormat::Q4K | QuantFormat::Q5K | QuantFormat::Q6K => K_SUPER_BLOCK,
            QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => {
                self.antiquant().map_or(1, |(_, group)| group)
            }
            _ => 1,
        }
    }

    /// Bits of one element code in the MX layouts (GGML's MXFP4 included) and NVFP4 (8, 6 or
    /// 4); `None` for the other formats.
    pub fn element_bits(self) -> Option<usize> {
        match self {
            QuantFormat::MxFp8E4M3 | QuantFormat::MxFp8E5M2 | QuantFormat::MxInt8 => Some(8),
            QuantFormat::MxFp6E2M3 | QuantFormat::MxFp6E3M2 => Some(6),
            QuantFormat::MxFp4 | QuantFormat::NvFp4 | QuantFormat::GgmlMxFp4 => Some(4),
            _ => None,
        }
    }

    /// Bytes of one block (or super-block) of [`QuantFormat::row_block`] values, for the
    /// formats made of whole blocks without a header.
    fn block_bytes(self) -> Option<usize> {
        match self {
            QuantFormat::Q8_0 => Some(2 + GGML_BLOCK),
            QuantFormat::Q4_0 => Some(2 + GGML_BLOCK / 2),
            QuantFormat::Q4K => Some(144),
            QuantFormat::Q5K => Some(176),
            QuantFormat::Q6K => Some(210),
            _ => self
                .element_bits()
                .map(|bits| 1 + self.row_block() * bits / 8),
        }
    }

    /// Whether `cols` is a valid row length (block formats need whole blocks).
    pub fn check_cols(self, cols: usize) -> Result<(), String> {
        let block = self.row_block();
        if cols % block != 0 {
            return Err(format!(
                "{} needs rows of a multiple of {block} values, not {cols}",
                self.name()
            ));
        }
        Ok(())
    }

    /// Bytes of a rows × cols matrix in this format.
    pub fn encoded_len(self, rows: usize, cols: usize) -> usize {
        let tiles = |n: usize| n.div_ceil(FP8_TILE);
        let blocks = rows * (cols / self.row_block());
        match self {
            QuantFormat::Int8 => rows * (4 + cols),
            QuantFormat::Fp8E4M3 | QuantFormat::Fp8E5M2 => rows * cols,
            QuantFormat::Fp8E4M3Tile => 4 * rows * tiles(cols) + rows * cols,
            QuantFormat::Fp8E4M3Block => 4 * tiles(rows) * tiles(cols) + rows * cols,
            QuantFormat::Fp8E4M3TileUe8m0 => rows * tiles(cols) + rows * cols,
            QuantFormat::Fp8E4M3BlockUe8m0 => tiles(rows) * tiles(cols) + rows * cols,
            QuantFormat::NvFp4 => 4 + blocks * (1 + NVFP4_BLOCK / 2),
            QuantFormat::W8A8BiasI32
            | QuantFormat::W8A8BiasI32S19
            | QuantFormat::W8A8BiasF32
            | QuantFormat::W8A8BiasBf16 => rows * (8 + cols),
            QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => {
                let bits = self.antiquant().map_or(8, |(bits, _)| bits);
                4 * blocks + rows * cols * bits / 8
            }
            _ => blocks * self.block_bytes().unwrap_or(0),
        }
    }

    /// Bytes of one tile scale of the DeepSeek-style FP8 layouts: 4 (f32) or 1 (UE8M0); 0 for
    /// the other formats.
    pub fn scale_bytes(self) -> usize {
        match self {
            QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3Block => 4,
            QuantFormat::Fp8E4M3TileUe8m0 | QuantFormat::Fp8E4M3BlockUe8m0 => 1,
            _ => 0,
        }
    }

    /// Rows per scale tile of the DeepSeek-style FP8 layouts (1 or 128); `None` for the other
    /// formats.
    pub fn fp8_tile_rows(self) -> Option<usize> {
        match self {
            QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3TileUe8m0 => Some(1),
            QuantFormat::Fp8E4M3Block | QuantFormat::Fp8E4M3BlockUe8m0 => Some(FP8_TILE),
            _ => None,
        }
    }

    /// The encoding of rows `range` of an encoded rows × cols matrix, for formats whose rows are
    /// encoded independently; `None` for 128×128 blocks (whose scales span 128 rows) and for
    /// an out-of-range `range` or a wrongly sized `bytes`.
    pub fn select_rows(
        self,
        bytes: &[u8],
        rows: usize,
        cols: usize,
        range: std::ops::Range<usize>,
    ) -> Option<Vec<u8>> {
        if range.start > range.end
            || range.end > rows
            || bytes.len() != self.encoded_len(rows, cols)
        {
            return None;
        }
        let row_bytes = self.encoded_len(1, cols);
        match self {
            QuantFormat::Fp8E4M3Block
            | QuantFormat::Fp8E4M3BlockUe8m0
            | QuantFormat::NvFp4
            | QuantFormat::AntiquantW8G64
            | QuantFormat::AntiquantW4G32 => None,
            QuantFormat::Fp8E4M3Tile | QuantFormat::Fp8E4M3TileUe8m0 => {
                let scale_bytes = self.scale_bytes() * cols.div_ceil(FP8_TILE);
                let (scales, codes) = bytes.split_at(rows * scale_bytes);
                let mut out = scales[range.start * scale_bytes..range.end * scale_bytes].to_vec();
                out.extend_from_slice(&codes[range.start * cols..range.end * cols]);
                Some(out)
            }
            _ => Some(bytes[range.start * row_bytes..range.end * row_bytes].to_vec()),
        }
    }
}

impl fmt::Display for QuantFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QuantFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QuantFormat::ALL
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = QuantFormat::ALL.iter().map(|q| q.name()).collect();
                format!(
                    "unknown quantized format `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Quantizing (f32 → format) or dequantizing (format → f32) a rows × cols matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuantizeProblem {
    /// The format.
    pub format: QuantFormat,
    /// Rows of the matrix.
    pub rows: usize,
    /// Values per row.
    pub cols: usize,
}

impl QuantizeProblem {
    /// Checks dimensions and the format's row-length rule.
    pub fn validate(&self) -> Result<(), KernelError> {
        if self.rows == 0 || self.cols == 0 {
            return Err(KernelError::InvalidProblem(format!(
                "{} of {}×{} values",
                self.format, self.rows, self.cols
            )));
        }
        self.format
            .check_cols(self.cols)
            .map_err(KernelError::InvalidProblem)?;
        self.rows
            .checked_mul(self.cols)
            .and_then(|n| n.checked_mul(4))
            .map(|_| ())
            .ok_or_else(|| {
                KernelError::InvalidProblem(format!("{self:?} overflows the address space"))
            })
    }

    /// Bytes of the quantized matrix.
    pub fn encoded_len(&self) -> usize {
        self.format.encoded_len(self.rows, self.cols)
    }
}

/// C (m×n) = A (m×k) · Wᵀ, W an n×k matrix of weights in a quantized format. By default the
/// activations A are unquantized for Q8_0, Q4_0, MXFP6, MXFP4 and GGML MXFP4 (W4A16), NVFP4,
/// K-quant and antiquant weights (f32, or bf16 in a kernel's bf16 variant, which also writes C
/// in bf16), int8 per token for int8 weights (with or without a bias epilogue), FP8 with 1×128
/// tiles for FP8 weights with 128×128 blocks (f32 scales with f32 scales, UE8M0 with UE8M0),
/// and the weights' own format for MXFP8 and MXINT8 weights. Where the weights admit other
/// activations ([`QuantMatmulProblem::alternative_activations`]: FP8 activations for MXFP4
/// weights, W4A8), `activation_choice` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuantMatmulProblem {
    /// Format of the weights: any but the unscaled FP8 formats and the 1×128 tiles (either
    /// scale type).
    pub weights: QuantFormat,
    /// The activations' format where it is not the weights' default: one of
    /// [`QuantMatmulProblem::alternative_activations`]; `None` for the default.
    pub activation_choice: Option<QuantFormat>,
    /// Rows of A and C (tokens).
    pub m: usize,
    /// Rows of W, columns of C (output channels).
    pub n: usize,
    /// Length of every dot product (input channels).
    pub k: usize,
}

impl QuantMatmulProblem {
    /// A problem with the weights' default activations.
    pub const fn new(weights: QuantFormat, m: usize, n: usize, k: usize) -> Self {
        QuantMatmulProblem {
            weights,
            activation_choice: None,
            m,
            n,
            k,
        }
    }

    /// The activation formats `weights` admit besides their default: for MXFP4 weights, FP8
    /// E4M3 with an f32 scale per 1×128 tile (DeepGEMM's FP8 × FP4 GEMM) or MXFP8 E4M3 with an
    /// E8M0 scale per 32 (DeepGEMM's Mega MoE); none for the other formats. See
    /// `docs/formats.md` (W4A8).
    pub fn alternative_activations(weights: QuantFormat) -> &'static [QuantFormat] {
        match weights {
            QuantFormat::MxFp4 => &[QuantFormat::Fp8E4M3Tile, QuantFormat::MxFp8E4M3],
            _ => &[],
        }
    }

    /// Format of the activations, or `None` when they are unquantized (f32, or bf16 in a bf16
    /// variant).
    pub fn activations(&self) -> Option<QuantFormat> {
        if self.activation_choice.is_some() {
            return self.activation_choice;
        }
        match self.weights {
            QuantFormat::Int8
            | QuantFormat::W8A8BiasI32
            | QuantFormat::W8A8BiasI32S19
            | QuantFormat::W8A8BiasF32
            | QuantFormat::W8A8BiasBf16 => Some(QuantFormat::Int8),
            QuantFormat::Fp8E4M3Block => Some(QuantFormat::Fp8E4M3Tile),
            QuantFormat::Fp8E4M3BlockUe8m0 => Some(QuantFormat::Fp8E4M3TileUe8m0),
            QuantFormat::MxFp8E4M3 => Some(QuantFormat::MxFp8E4M3),
            QuantFormat::MxFp8E5M2 => Some(QuantFormat::MxFp8E5M2),
            QuantFormat::MxInt8 => Some(QuantFormat::MxInt8),
            _ => None,
        }
    }

    /// Checks dimensions, the weight format and the formats' rules on k.
    pub fn validate(&self) -> Result<(), KernelError> {
        let invalid = |what: String| Err(KernelError::InvalidProblem(format!("qmatmul: {what}")));
        if self.m == 0 || self.n == 0 || self.k == 0 {
            return invalid(format!(
                "dimension of 0 in m {} n {} k {}",
                self.m, self.n, self.k
            ));
        }
        if matches!(
            self.weights,
            QuantFormat::Fp8E4M3
                | QuantFormat::Fp8E4M3Tile
                | QuantFormat::Fp8E4M3TileUe8m0
                | QuantFormat::Fp8E5M2
        ) {
            return invalid(format!(
                "weights in {} (use a block format, int8 or fp8-e4m3-128x128)",
                self.weights
            ));
        }
        if let Some(a) = self.activation_choice {
            if !Self::alternative_activations(self.weights).contains(&a) {
                return invalid(format!("{} weights with {a} activations", self.weights));
            }
        }
        self.weights
            .check_cols(self.k)
            .map_err(KernelError::InvalidProblem)?;
        let fits = |a: usize, b: usize| a.checked_mul(b).and_then(|x| x.checked_mul(4)).is_some();
        if fits(self.m, self.k) && fits(self.n, self.k) && fits(self.m, self.n) {
            Ok(())
        } else {
            invalid(format!("{self:?} overflows the address space"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_lengths_follow_the_layouts() {
        assert_eq!(QuantFormat::Q8_0.encoded_len(2, 64), 2 * 2 * 34);
        assert_eq!(QuantFormat::Q4_0.encoded_len(1, 32), 18);
        assert_eq!(QuantFormat::Int8.encoded_len(3, 5), 3 * 9);
        assert_eq!(
            QuantFormat::Fp8E4M3Tile.encoded_len(2, 130),
            4 * 2 * 2 + 260
        );
        assert_eq!(QuantFormat::Fp8E4M3Block.encoded_len(129, 1), 4 * 2 + 129);
        assert_eq!(
            QuantFormat::Fp8E4M3TileUe8m0.encoded_len(2, 130),
            2 * 2 + 260
        );
        assert_eq!(
            QuantFormat::Fp8E4M3BlockUe8m0.encoded_len(129, 130),
            4 + 129 * 130
        );
        assert_eq!(QuantFormat::MxInt8.encoded_len(2, 64), 4 * 33);
        assert_eq!(QuantFormat::GgmlMxFp4.encoded_len(1, 64), 2 * 17);
    }

    #[test]
    fn selected_rows_keep_their_scales_and_codes() {
        let numbered = |len: usize| (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        let (rows, cols) = (3, 130);
        let tile = numbered(QuantFormat::Fp8E4M3Tile.encoded_len(rows, cols));
        let picked = QuantFormat::Fp8E4M3Tile
            .select_rows(&tile, rows, cols, 1..3)
            .unwrap();
        assert_eq!(picked.len(), QuantFormat::Fp8E4M3Tile.encoded_len(2, cols));
        assert_eq!(picked[..16], tile[8..24]);
        assert_eq!(picked[16..], tile[24 + cols..]);
        let ue8m0 = numbered(QuantFormat::Fp8E4M3TileUe8m0.encoded_len(rows, cols));
        let picked = QuantFormat::Fp8E4M3TileUe8m0
            .select_rows(&ue8m0, rows, cols, 2..3)
            .unwrap();
        assert_eq!(picked[..2], ue8m0[4..6]);
        assert_eq!(picked[2..], ue8m0[6 + 2 * cols..]);
        let int8 = numbered(QuantFormat::Int8.encoded_len(rows, 5));
        assert_eq!(
            QuantFormat::Int8.select_rows(&int8, rows, 5, 2..3).unwrap(),
            int8[18..27]
        );
        let block = numbered(QuantFormat::Fp8E4M3Block.encoded_len(rows, cols));
        assert_eq!(
            QuantFormat::Fp8E4M3Block.select_rows(&block, rows, cols, 0..1),
            None
        );
        assert_eq!(QuantFormat::Int8.select_rows(&int8, rows, 5, 2..4), None);
    }

    #[test]
    fn names_round_trip_and_shapes_are_checked() {
        for q in QuantFormat::ALL {
            assert_eq!(q.name().parse::<QuantFormat>().unwrap(), q);
        }
        assert!(
            QuantizeProblem {
                format: QuantFormat::Q4_0,
                rows: 1,
                cols: 33
            }
            .validate()
            .is_err()
        );
        assert!(
            QuantizeProblem {
                format: QuantFormat::Int8,
                rows: 1,
                cols: 33
            }
            .validate()
            .is_ok()
        );
        let qm = QuantMatmulProblem::new(QuantFormat::Fp8E4M3Block, 1, 1, 130);
        assert!(qm.validate().is_ok());
        assert_eq!(qm.activations(), Some(QuantFormat::Fp8E4M3Tile));
        assert!(
            QuantMatmulProblem {
                weights: QuantFormat::Fp8E4M3,
                ..qm
            }
            .validate()
            .is_err()
        );
        let w4a8 = QuantMatmulProblem {
            activation_choice: Some(QuantFormat::Fp8E4M3Tile),
            ..QuantMatmulProblem::new(QuantFormat::MxFp4, 2, 3, 96)
        };
        assert!(w4a8.validate().is_ok());
        assert_eq!(w4a8.activations(), Some(QuantFormat::Fp8E4M3Tile));
        assert_eq!(
            QuantMatmulProblem::new(QuantFormat::MxFp4, 2, 3, 96).activations(),
            None
        );
        for (weights, a) in [
            (QuantFormat::MxFp4, QuantFormat::Int8),
            (QuantFormat::NvFp4, QuantFormat::Fp8E4M3Tile),
        ] {
            let p = QuantMatmulProblem {
                activation_choice: Some(a),
                ..QuantMatmulProblem::new(weights, 1, 1, 32)
            };
            assert!(p.validate().is_err(), "{weights} × {a}");
        }
    }
}
