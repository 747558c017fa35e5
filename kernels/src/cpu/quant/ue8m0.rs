//! UE8M0 scales of DeepSeek's FP8 layouts (DeepGEMM's `use_ue8m0`): a tile's scale is
//! amax / 448 (amax raised to at least 1e-4) rounded up to a power of two and stored as its
//! E8M0 byte.

/// The amax floor DeepGEMM applies before dividing by 448.
const AMAX_FLOOR: f32 = 1e-4;

/// DeepGEMM's `ceil_to_ue8m0` of a non-negative f32 as a byte: the exponent field, plus one
/// when any mantissa bit is set, kept within 1 … 254 (NaN and ∞ land on 254).
pub fn ceil_to_ue8m0(sf: f32) -> u8 {
    let bits = sf.to_bits() & 0x7fff_ffff;
    let field = (bits >> 23) + u32::from(bits & 0x7f_ffff != 0);
    field.clamp(1, 254) as u8
}

/// The scale byte of a tile with largest magnitude `amax` (NaN when the tile holds one).
pub fn tile_scale(amax: f32) -> u8 {
    let floored = if amax.is_nan() {
        amax
    } else {
        amax.max(AMAX_FLOOR)
    };
    ceil_to_ue8m0(floored / 448.0)
}

/// 2^(b − 127) as f32 (2^-127 subnormal; NaN for 0xFF).
pub fn value(b: u8) -> f32 {
    match b {
        0xff => f32::NAN,
        0 => f32::from_bits(0x0040_0000),
        _ => f32::from_bits((b as u32) << 23),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_up_and_zero_tiles_take_the_floor() {
        assert_eq!(tile_scale(448.0), 127);
        assert_eq!(tile_scale(449.0), 128);
        assert_eq!(tile_scale(0.0), 105);
        assert_eq!(tile_scale(f32::NAN), 254);
        assert_eq!(tile_scale(f32::INFINITY), 254);
        assert_eq!(value(105), 2f32.powi(-22));
    }
}
