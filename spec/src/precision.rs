//! Storage precisions and the variants (precision × arithmetic path) a kernel is built for.

use std::fmt;
use std::str::FromStr;

/// How values are stored in host tensors and device buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16: the top half of a binary32.
    BF16,
    /// Raw bytes: quantized blocks, opaque to everything but their format's codec. Behaves as
    /// the integers 0..=255 (8 digits, quantum 1), so bytes are judged exactly. Not a variant.
    U8,
}

impl Precision {
    /// The floating-point storage precisions (the variants' precisions), in report order.
    pub const FLOATS: [Precision; 3] = [Precision::F32, Precision::F16, Precision::BF16];

    /// Bytes per stored element.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 | Precision::BF16 => 2,
            Precision::U8 => 1,
        }
    }

    /// Significand digits, counting the implicit bit (p in u = 2^-p).
    pub fn digits(self) -> i32 {
        match self {
            Precision::F32 => 24,
            Precision::F16 => 11,
            Precision::BF16 | Precision::U8 => 8,
        }
    }

    /// Exponent of the smallest normal number (2^min_exp).
    pub fn min_exp(self) -> i32 {
        match self {
            Precision::F32 | Precision::BF16 => -126,
            Precision::F16 => -14,
            Precision::U8 => 7,
        }
    }

    /// Exponent of the largest finite number's leading bit (max finite = (2 - 2^(1-p)) · 2^max_exp).
    pub fn max_exp(self) -> i32 {
        match self {
            Precision::F32 | Precision::BF16 => 127,
            Precision::F16 => 15,
            Precision::U8 => 7,
        }
    }

    /// Unit roundoff for round-to-nearest: u = 2^-p.
    pub fn unit_roundoff(self) -> f64 {
        crate::pow2(-self.digits())
    }

    /// Largest finite value.
    pub fn max_finite(self) -> f64 {
        (2.0 - crate::pow2(1 - self.digits())) * crate::pow2(self.max_exp())
    }

    /// Smallest positive normal value.
    pub fn min_normal(self) -> f64 {
        crate::pow2(self.min_exp())
    }

    /// Smallest positive subnormal value (the spacing of the subnormal range).
    pub fn min_subnormal(self) -> f64 {
        crate::pow2(self.min_exp() + 1 - self.digits())
    }

    /// Short lower-case name used in reports and case ids.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::BF16 => "bf16",
            Precision::U8 => "u8",
        }
    }

    /// Decodes one stored element (little-endian bytes) to f32. Exact for every precision.
    pub fn decode(self, bytes: &[u8]) -> f32 {
        match self {
            Precision::F32 => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            Precision::F16 => {
                half::f16::from_bits(u16::from_le_bytes([bytes[0], bytes[1]])).to_f32()
            }
            Precision::BF16 => {
                half::bf16::from_bits(u16::from_le_bytes([bytes[0], bytes[1]])).to_f32()
            }
            Precision::U8 => bytes[0] as f32,
        }
    }

    /// Stores `value` as one element (little-endian) in `bytes`, rounded to nearest even for f16
    /// and bf16 (exact whenever the value is representable); u8 takes the integer part,
    /// saturated to 0..=255 (NaN stores 0).
    pub fn encode(self, value: f32, bytes: &mut [u8]) {
        match self {
            Precision::F32 => bytes[..4].copy_from_slice(&value.to_le_bytes()),
            Precision::F16 => {
                bytes[..2].copy_from_slice(&half::f16::from_f32(value).to_bits().to_le_bytes())
            }
            Precision::BF16 => {
                bytes[..2].copy_from_slice(&half::bf16::from_f32(value).to_bits().to_le_bytes())
            }
            Precision::U8 => bytes[0] = value as u8,
        }
    }

    /// The raw bit pattern of one stored element, widened to u32.
    pub fn bits(self, bytes: &[u8]) -> u32 {
        match self {
            Precision::F32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            Precision::F16 | Precision::BF16 => u16::from_le_bytes([bytes[0], bytes[1]]) as u32,
            Precision::U8 => bytes[0] as u32,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a kernel reaches its storage precision on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    /// Runs on every device of its backend: 16-bit values are unpacked from 32-bit words and
    /// computed on in f32.
    Portable,
    /// Uses the device's native type (for f16 on wgpu: WGSL `enable f16;`, which needs SHADER_F16).
    Native,
}

/// One column of the matrix: a storage precision and the path used to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant {
    /// Storage precision of inputs and outputs.
    pub precision: Precision,
    /// Portable or native arithmetic path.
    pub path: Path,
}

impl Variant {
    /// The portable variant of a precision.
    pub const fn portable(precision: Precision) -> Self {
        Variant {
            precision,
            path: Path::Portable,
        }
    }

    /// The native variant of a precision.
    pub const fn native(precision: Precision) -> Self {
        Variant {
            precision,
            path: Path::Native,
        }
    }

    /// Report label: `f32`, `f16`, `bf16`, and `f16n` for native f16.
    pub fn label(self) -> String {
        match self.path {
            Path::Portable => self.precision.name().to_string(),
            Path::Native => format!("{}n", self.precision.name()),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, path) = match s.strip_suffix('n') {
            Some(base) => (base, Path::Native),
            None => (s, Path::Portable),
        };
        let precision = Precision::FLOATS
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| format!("unknown precision `{s}` (expected f32, f16, f16n or bf16)"))?;
        Ok(Variant { precision, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_constants_match_the_ieee_types() {
        assert_eq!(Precision::F32.max_finite(), f32::MAX as f64);
        assert_eq!(Precision::F16.max_finite(), 65504.0);
        assert_eq!(Precision::BF16.max_finite(), half::bf16::MAX.to_f64());
        assert_eq!(Precision::F32.min_normal(), f32::MIN_POSITIVE as f64);
        assert_eq!(Precision::F16.min_subnormal(), crate::pow2(-24));
        assert_eq!(Precision::BF16.min_subnormal(), crate::pow2(-133));
        assert_eq!(Precision::U8.max_finite(), 255.0);
        assert_eq!(Precision::U8.min_subnormal(), 1.0);
    }

    #[test]
    fn encode_rounds_to_nearest_even_and_round_trips() {
        let mut bytes = [0u8; 4];
        for p in Precision::FLOATS {
            for v in [0.0f32, -0.0, 1.5, -3.25, f32::INFINITY] {
                p.encode(v, &mut bytes);
                assert_eq!(p.decode(&bytes).to_bits(), v.to_bits(), "{p} {v}");
            }
        }
        // 1 + 2^-11 lies halfway between two f16 values: the even one (1.0) wins.
        Precision::F16.encode(1.0 + crate::pow2_f32(-11), &mut bytes);
        assert_eq!(Precision::F16.decode(&bytes), 1.0);
        Precision::F16.encode(1.0 + 3.0 * crate::pow2_f32(-11), &mut bytes);
        assert_eq!(Precision::F16.decode(&bytes), 1.0 + crate::pow2_f32(-9));
        // bf16 keeps 8 significant bits: 1 + 2^-8 is halfway, 1 + 3·2^-8 rounds up.
        Precision::BF16.encode(1.0 + crate::pow2_f32(-8), &mut bytes);
        assert_eq!(Precision::BF16.decode(&bytes), 1.0);
        Precision::BF16.encode(1.0 + 3.0 * crate::pow2_f32(-8), &mut bytes);
        assert_eq!(Precision::BF16.decode(&bytes), 1.0 + crate::pow2_f32(-6));
        Precision::U8.encode(300.0, &mut bytes);
        assert_eq!(bytes[0], 255);
    }

    #[test]
    fn variant_labels_round_trip() {
        for p in Precision::FLOATS {
            for v in [Variant::portable(p), Variant::native(p)] {
                assert_eq!(v.label().parse::<Variant>().unwrap(), v);
            }
        }
        assert!("f64".parse::<Variant>().is_err());
    }
}
