//! Codecs for the float storage precisions: f32 ↔ f16 and f32 ↔ bf16, round to nearest even,
//! NaN kept NaN. These are the source of truth the judge holds kernels' conversions to.

use crosscheck_spec::Precision;

use crate::rounding::{Rounding, exponent_of, round_to};

/// Encodes f32 values into `precision`'s little-endian bytes, rounding to nearest even.
pub fn encode(precision: Precision, values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * precision.bytes());
    for &v in values {
        match precision {
            Precision::F32 => out.extend_from_slice(&v.to_le_bytes()),
            Precision::F16 => out.extend_from_slice(&f32_to_f16_bits(v).to_le_bytes()),
            Precision::BF16 => out.extend_from_slice(&f32_to_bf16_bits(v).to_le_bytes()),
            // Raw bytes: values are 0..=255 by construction (out-of-range values saturate).
            Precision::U8 => out.push(v as u8),
        }
    }
    out
}

/// Decodes `precision`'s little-endian bytes to f32 (exact).
pub fn decode(precision: Precision, bytes: &[u8]) -> Vec<f32> {
    match precision {
        Precision::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Precision::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Precision::BF16 => bytes
            .chunks_exact(2)
            .map(|b| bf16_bits_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Precision::U8 => bytes.iter().map(|&b| b as f32).collect(),
    }
}

/// Decodes one stored element, given its raw bits widened to u32, to f64 (exact).
pub fn bits_to_f64(precision: Precision, bits: u32) -> f64 {
    match precision {
        Precision::F32 => f32::from_bits(bits) as f64,
        Precision::F16 => f16_bits_to_f32(bits as u16) as f64,
        Precision::BF16 => bf16_bits_to_f32(bits as u16) as f64,
        Precision::U8 => (bits & 0xff) as f64,
    }
}

/// Rounds each value to `precision` (nearest even) and returns the stored values as f32:
/// the exact values a kernel and the oracle will see.
pub fn quantize(precision: Precision, values: &[f32]) -> Vec<f32> {
    decode(precision, &encode(precision, values))
}

/// f32 → binary16 bits, round to nearest even; NaN becomes a quiet NaN with the same sign.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let sign = ((x.to_bits() >> 16) & 0x8000) as u16;
    if x.is_nan() {
        return sign | 0x7e00 | ((x.to_bits() >> 13) & 0x1ff) as u16;
    }
    let r = round_to(x as f64, Precision::F16, Rounding::NearestEven);
    sign | magnitude_bits(r.abs(), 5, 10, 15)
}

/// binary16 bits → f32 (exact).
pub fn f16_bits_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = ((bits >> 10) & 0x1f) as i32;
    let frac = (bits & 0x3ff) as f32;
    let magnitude = match exp {
        0 => frac * crosscheck_spec::pow2_f32(-24),
        31 if frac == 0.0 => f32::INFINITY,
        31 => {
            return f32::from_bits(
                0x7fc0_0000 | ((bits as u32 & 0x8000) << 16) | ((bits as u32 & 0x1ff) << 13),
            );
        }
        _ => (1.0 + frac / 1024.0) * crosscheck_spec::pow2_f32(exp - 15),
    };
    sign * magnitude
}

/// f32 → bfloat16 bits, round to nearest even; NaN becomes a quiet NaN with the same sign.
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let sign = ((x.to_bits() >> 16) & 0x8000) as u16;
    if x.is_nan() {
        return sign | 0x7fc0 | ((x.to_bits() >> 16) & 0x3f) as u16;
    }
    let r = round_to(x as f64, Precision::BF16, Rounding::NearestEven);
    sign | magnitude_bits(r.abs(), 8, 7, 127)
}

/// bfloat16 bits → f32 (exact: bf16 is the top half of an f32).
pub fn bf16_bits_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Packs a non-negative value that is exactly representable (or infinite) in a binary format with
/// `exp_bits` exponent bits, `frac_bits` fraction bits and exponent `bias`.
fn magnitude_bits(v: f64, exp_bits: u32, frac_bits: u32, bias: i32) -> u16 {
    let exp_all_ones = (1u16 << exp_bits) - 1;
    if v.is_infinite() {
        return exp_all_ones << frac_bits;
    }
    if v == 0.0 {
        return 0;
    }
    let min_exp = 1 - bias;
    let e = exponent_of(v);
    if e < min_exp {
        let frac = v / crosscheck_spec::pow2(min_exp - frac_bits as i32);
        return frac as u16;
    }
    let frac = (v / crosscheck_spec::pow2(e) - 1.0) * (1u32 << frac_bits) as f64;
    (((e + bias) as u16) << frac_bits) | frac as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f16_ties_round_to_even() {
        // 2049 is halfway between 2048 and 2050 in f16 → 2048 (even significand).
        assert_eq!(f16_bits_to_f32(f32_to_f16_bits(2049.0)), 2048.0);
        // 2051 is halfway between 2050 and 2052 → 2052.
        assert_eq!(f16_bits_to_f32(f32_to_f16_bits(2051.0)), 2052.0);
        assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
        assert_eq!(f32_to_f16_bits(65520.0), 0x7c00);
        assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
        assert_eq!(f32_to_f16_bits(5.960_464_5e-8), 0x0001);
    }

    #[test]
    fn bf16_ties_round_to_even() {
        // 257 is halfway between 256 and 258 in bf16 → 256; 259 → 260.
        assert_eq!(bf16_bits_to_f32(f32_to_bf16_bits(257.0)), 256.0);
        assert_eq!(bf16_bits_to_f32(f32_to_bf16_bits(259.0)), 260.0);
        // Truncation would give 0x3f80 for 1 + 2^-8 + 2^-20; nearest gives 0x3f81.
        assert_eq!(
            f32_to_bf16_bits(1.0 + crosscheck_spec::pow2_f32(-8) + crosscheck_spec::pow2_f32(-20)),
            0x3f81
        );
        assert_eq!(f32_to_bf16_bits(f32::MAX), 0x7f80);
    }

    #[test]
    fn nan_stays_nan_with_its_sign() {
        for nan in [
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xff80_0001),
        ] {
            let h = f32_to_f16_bits(nan);
            let b = f32_to_bf16_bits(nan);
            assert!(f16_bits_to_f32(h).is_nan(), "{nan:?} → f16 {h:#x}");
            assert!(bf16_bits_to_f32(b).is_nan(), "{nan:?} → bf16 {b:#x}");
            assert_eq!(h & 0x8000 != 0, nan.is_sign_negative());
            assert_eq!(b & 0x8000 != 0, nan.is_sign_negative());
        }
    }

    #[test]
    fn encode_decode_round_trip_representable_values() {
        let values = [
            0.0f32,
            -0.0,
            1.0,
            -2.5,
            65280.0,
            6.1035156e-5,
            f32::INFINITY,
        ];
        for p in Precision::FLOATS {
            let back = decode(p, &encode(p, &values));
            assert_eq!(
                back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                values.map(|v| v.to_bits()).to_vec()
            );
        }
    }

    proptest! {
        /// Every f16 bit pattern decodes as `half` decodes it, and re-encodes to itself.
        #[test]
        fn every_f16_pattern_round_trips(bits in any::<u16>()) {
            let ours = f16_bits_to_f32(bits);
            let theirs = half::f16::from_bits(bits).to_f32();
            prop_assert_eq!(ours.is_nan(), theirs.is_nan());
            if !ours.is_nan() {
                prop_assert_eq!(ours.to_bits(), theirs.to_bits());
                prop_assert_eq!(f32_to_f16_bits(ours), bits);
            }
        }

        /// Our encoders agree with `half` (an independent implementation) on every non-NaN f32.
        #[test]
        fn encoders_match_half(bits in any::<u32>()) {
            let x = f32::from_bits(bits);
            prop_assume!(!x.is_nan());
            prop_assert_eq!(f32_to_f16_bits(x), half::f16::from_f32(x).to_bits());
            prop_assert_eq!(f32_to_bf16_bits(x), half::bf16::from_f32(x).to_bits());
        }
    }
}
