//! DeepSeek-V3 FP8 block scaling with UE8M0 (power-of-two) scales, as DeepGEMM's
//! `per_token_cast_to_fp8` (1×128 tiles, activations) and `per_block_cast_to_fp8` (128×128
//! blocks, weights) make them with `use_ue8m0`: amax over the tile, raised to at least 1e-4;
//! sf = amax / 448 in f32; sf rounded up to a power of two by `ceil_to_ue8m0` (exponent field
//! plus one when any mantissa bit is set, kept within 1 … 254); code = E4M3(x · (1 / sf)).
//!
//! Layout: the scale bytes first (the E8M0 byte of each tile, row-major over the tile grid),
//! then rows × cols E4M3 codes. Short last tiles have scales of their own, as in the f32 layouts.

use crosscheck_spec::FP8_TILE;

use super::e8m0::e8m0_exponent;
use super::mx::block_amax;
use crate::quant::{e4m3_bits_to_f32, f32_to_e4m3_bits};

/// DeepGEMM's `ceil_to_ue8m0` of a non-negative f32, as an E8M0 byte. NaN and ∞ land on 254
/// (2^127), as the clamp in DeepGEMM makes them.
pub fn ceil_to_ue8m0(x: f32) -> u8 {
    let bits = x.abs().to_bits();
    let exp = ((bits >> 23) & 0xff) + u32::from(bits & 0x7f_ffff != 0);
    exp.clamp(1, 254) as u8
}

/// Bytes of a rows × cols matrix with `tile_rows` × 128 tiles.
pub fn encoded_len(rows: usize, cols: usize, tile_rows: usize) -> usize {
    rows.div_ceil(tile_rows) * cols.div_ceil(FP8_TILE) + rows * cols
}

/// Scale bytes then codes. A tile holding NaN or ∞ gets scale 2^127 (DeepGEMM's clamp), and its
/// codes follow crosscheck's E4M3 conversion (NaN stays NaN, ∞ saturates to ±448).
pub fn encode(rows: usize, cols: usize, tile_rows: usize, values: &[f32]) -> Vec<u8> {
    let tiles_per_row = cols.div_ceil(FP8_TILE);
    let mut amax = vec![0.0f32; rows.div_ceil(tile_rows) * tiles_per_row];
    for r in 0..rows {
        for (t, chunk) in values[r * cols..(r + 1) * cols]
            .chunks(FP8_TILE)
            .enumerate()
        {
            let a = &mut amax[(r / tile_rows) * tiles_per_row + t];
            let m = block_amax(chunk);
            *a = if a.is_nan() || m.is_nan() {
                f32::NAN
            } else {
                a.max(m)
            };
        }
    }
    // torch's clamp(min) keeps NaN.
    let scales: Vec<u8> = amax
        .iter()
        .map(|&a| {
            let a = if a.is_nan() { a } else { a.max(1e-4) };
            ceil_to_ue8m0(a / 448.0)
        })
        .collect();
    let mut out = scales.clone();
    for (i, &x) in values.iter().enumerate() {
        let (r, c) = (i / cols, i % cols);
        let byte = scales[(r / tile_rows) * tiles_per_row + c / FP8_TILE];
        let inverse = 1.0f32 / f32::from_bits((byte as u32) << 23);
        out.push(f32_to_e4m3_bits(x * inverse));
    }
    out
}

/// Exact values E4M3(code) · 2^(scale − 127).
pub fn decode_exact(rows: usize, cols: usize, tile_rows: usize, bytes: &[u8]) -> Vec<f64> {
    let tiles_per_row = cols.div_ceil(FP8_TILE);
    let (scales, codes) = bytes.split_at(rows.div_ceil(tile_rows) * tiles_per_row);
    codes
        .iter()
        .enumerate()
        .map(|(i, &code)| {
            let (r, c) = (i / cols, i % cols);
            let byte = scales[(r / tile_rows) * tiles_per_row + c / FP8_TILE];
            match e8m0_exponent(byte) {
                Some(e) => e4m3_bits_to_f32(code) as f64 * crosscheck_spec::pow2(e),
                None => f64::NAN,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_up_to_powers_of_two() {
        assert_eq!(ceil_to_ue8m0(1.0), 127);
        assert_eq!(ceil_to_ue8m0(1.0000001), 128);
        assert_eq!(ceil_to_ue8m0(0.0), 1);
        assert_eq!(ceil_to_ue8m0(f32::NAN), 254);
        // amax 448 → sf 1 → byte 127; amax 449 → sf 2 (byte 128): 449 / 2 = 224.5 → E4M3 224.
        let mut x = vec![1.0f32; 130];
        x[0] = 449.0;
        x[128] = 448.0;
        let b = encode(1, 130, 1, &x);
        assert_eq!(&b[..2], &[128, 127]);
        assert_eq!(decode_exact(1, 130, 1, &b)[0], 448.0);
    }

    #[test]
    fn zero_tiles_take_the_1e_minus_4_floor() {
        // 1e-4 / 448 = 2.23e-7 → 2^-22 (byte 105); codes are zero.
        let b = encode(1, 128, 1, &[0.0; 128]);
        assert_eq!(b[0], 105);
        assert!(b[1..].iter().all(|&c| c == 0));
    }
}
