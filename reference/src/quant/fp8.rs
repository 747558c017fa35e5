//! OCP FP8 E4M3 (bias 7, largest finite 448, no infinities, NaN = S.1111.111) and DeepSeek-V3
//! fine-grained scaling: one f32 scale = amax / 448 per tile (1×128 for activations, 128×128
//! for weights; short last tiles keep their own scale), codes = E4M3(x / scale).

use crosscheck_spec::FP8_TILE;

use crate::rounding::{E4M3, Rounding, round_in};

/// f32 → E4M3 bits: round to nearest even, saturate to ±448 (infinities too), NaN → NaN.
pub fn f32_to_e4m3_bits(x: f32) -> u8 {
    let sign = if x.is_sign_negative() { 0x80u8 } else { 0 };
    if x.is_nan() {
        return sign | 0x7f;
    }
    let v = round_in(
        (x.abs() as f64).min(E4M3.max_finite),
        E4M3,
        Rounding::NearestEven,
    );
    if v == 0.0 {
        return sign;
    }
    let min_normal = crosscheck_spec::pow2(E4M3.min_exp);
    if v < min_normal {
        return sign | (v / crosscheck_spec::pow2(E4M3.min_exp - 3)) as u8; // subnormal: m · 2⁻⁹
    }
    let e = v.log2().floor() as i32; // exact: v is a power of two times 1.xxx with 3 bits
    let mantissa = ((v / crosscheck_spec::pow2(e) - 1.0) * 8.0) as u8;
    sign | (((e + 7) as u8) << 3) | mantissa
}

/// E4M3 bits → f32 (exact).
pub fn e4m3_bits_to_f32(bits: u8) -> f32 {
    let sign = if bits & 0x80 != 0 { -1.0f32 } else { 1.0 };
    let (exp, mantissa) = ((bits >> 3) & 0x0f, (bits & 0x07) as f32);
    if exp == 0x0f && mantissa == 7.0 {
        return f32::NAN.copysign(sign);
    }
    let magnitude = if exp == 0 {
        mantissa * crosscheck_spec::pow2_f32(-9)
    } else {
        (1.0 + mantissa / 8.0) * crosscheck_spec::pow2_f32(exp as i32 - 7)
    };
    sign * magnitude
}

/// Scales (f32 = amax / 448 per tile of `tile_rows` × 128) then codes, both row-major.
pub fn encode_scaled(rows: usize, cols: usize, tile_rows: usize, values: &[f32]) -> Vec<u8> {
    let (tile_r, tile_c) = (rows.div_ceil(tile_rows), cols.div_ceil(FP8_TILE));
    let mut scales = vec![0.0f32; tile_r * tile_c];
    for r in 0..rows {
        for (t, chunk) in values[r * cols..(r + 1) * cols]
            .chunks(FP8_TILE)
            .enumerate()
        {
            let s = &mut scales[(r / tile_rows) * tile_c + t];
            *s = chunk
                .iter()
                .fold(*s, |m, v| if v.abs() > m { v.abs() } else { m });
        }
    }
    scales.iter_mut().for_each(|amax| *amax /= 448.0);
    let mut out: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
    for (i, &x) in values.iter().enumerate() {
        let (r, c) = (i / cols, i % cols);
        let scale = scales[(r / tile_rows) * tile_c + c / FP8_TILE];
        out.push(if scale == 0.0 {
            0
        } else {
            f32_to_e4m3_bits(x / scale)
        });
    }
    out
}

/// Values E4M3(code)·scale, exact in f64.
pub fn decode_scaled(rows: usize, cols: usize, tile_rows: usize, bytes: &[u8]) -> Vec<f64> {
    let (tile_r, tile_c) = (rows.div_ceil(tile_rows), cols.div_ceil(FP8_TILE));
    let (scales, codes) = bytes.split_at(4 * tile_r * tile_c);
    let scale = |i: usize| {
        let b = &scales[4 * i..4 * i + 4];
        f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64
    };
    codes
        .iter()
        .enumerate()
        .map(|(i, &code)| {
            let (r, c) = (i / cols, i % cols);
            e4m3_bits_to_f32(code) as f64 * scale((r / tile_rows) * tile_c + c / FP8_TILE)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e4m3_grid_and_specials() {
        assert_eq!(f32_to_e4m3_bits(448.0), 0x7e);
        assert_eq!(f32_to_e4m3_bits(1e9), 0x7e); // saturates, never NaN
        assert_eq!(f32_to_e4m3_bits(f32::NEG_INFINITY), 0xfe);
        assert_eq!(f32_to_e4m3_bits(f32::NAN) & 0x7f, 0x7f);
        assert_eq!(f32_to_e4m3_bits(1.0), 0x38);
        assert_eq!(f32_to_e4m3_bits(-0.0), 0x80);
        assert_eq!(f32_to_e4m3_bits(crosscheck_spec::pow2_f32(-9)), 0x01); // smallest subnormal
        // 1 + 1/16 is halfway between 1 and 1.125: ties to even (1.0); 1 + 3/16 → 1.25.
        assert_eq!(f32_to_e4m3_bits(1.0625), 0x38);
        assert_eq!(f32_to_e4m3_bits(1.1875), 0x3a);
        assert!(e4m3_bits_to_f32(0x7f).is_nan() && e4m3_bits_to_f32(0xff).is_nan());
        assert_eq!(e4m3_bits_to_f32(0x7e), 448.0);
    }

    #[test]
    fn every_e4m3_code_round_trips() {
        for bits in 0..=255u8 {
            let v = e4m3_bits_to_f32(bits);
            if !v.is_nan() {
                assert_eq!(f32_to_e4m3_bits(v), bits, "{bits:#x} = {v}");
            }
        }
    }

    #[test]
    fn short_last_tile_has_its_own_scale() {
        // 130 columns: tile 0 holds 128 values with amax 448, tile 1 two values with amax 4.48.
        let mut x = vec![1.0f32; 130];
        x[0] = 448.0;
        x[128] = 4.48;
        let bytes = encode_scaled(1, 130, 1, &x);
        let scale = |i: usize| f32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!((scale(0), scale(1)), (1.0, 4.48 / 448.0));
        assert_eq!(bytes[8 + 128], 0x7e); // 4.48 / scale = 448
        let back = decode_scaled(1, 130, 1, &bytes);
        assert!((back[128] - 4.48).abs() < 1e-6);
    }
}
