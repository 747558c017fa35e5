//! FP8 E4M3 conversions by bit manipulation.

/// f32 → E4M3: round to nearest even on the f32 bits, saturating at ±448, NaN → 0x7f | sign.
pub fn from_f32(x: f32) -> u8 {
    let bits = x.to_bits();
    let sign = ((bits >> 24) & 0x80) as u8;
    if x.is_nan() {
        return sign | 0x7f;
    }
    let abs = bits & 0x7fff_ffff;
    if abs >= 0x43e0_0000 {
        return sign | 0x7e; // ≥ 448 (and ∞): saturate
    }
    let exp = (abs >> 23) as i32 - 127;
    if exp < -6 {
        // Subnormal in E4M3 (or zero): value / 2⁻⁹ rounded to an integer, ties to even.
        let scaled = f32::from_bits(abs) * 512.0;
        return sign | scaled.round_ties_even() as u8;
    }
    // Normal: keep 3 of the 23 fraction bits, round to nearest even on the other 20.
    let mantissa = abs & 0x7f_ffff;
    let mut code = (((exp + 7) as u32) << 3) | (mantissa >> 20);
    let rest = mantissa & 0xf_ffff;
    if rest > 0x8_0000 || (rest == 0x8_0000 && code & 1 == 1) {
        code += 1; // may carry into the exponent; 448 is the largest reachable below 0x43e00000
    }
    sign | code as u8
}

/// E4M3 → f32 (exact).
pub fn to_f32(code: u8) -> f32 {
    let exp = ((code >> 3) & 0x0f) as u32;
    let mantissa = (code & 0x07) as u32;
    let sign = ((code & 0x80) as u32) << 24;
    let magnitude = if exp == 0x0f && mantissa == 7 {
        return f32::from_bits(sign | 0x7fc0_0000);
    } else if exp == 0 {
        mantissa as f32 / 512.0
    } else {
        f32::from_bits(((exp + 120) << 23) | (mantissa << 20))
    };
    f32::from_bits(sign | magnitude.to_bits())
}
