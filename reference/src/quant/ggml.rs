//! GGML's Q8_0 and Q4_0, as its reference quantizers (`quantize_row_q8_0_ref`,
//! `quantize_row_q4_0_ref`) define them.

use crosscheck_spec::GGML_BLOCK;

use super::{f16_bits, f16_value};

/// Q8_0: per block of 32, amax folded as C's `MAX(amax, fabsf(v))` (a NaN resets it), d = amax
/// / 127, id = 1/d (0 when d = 0, and 0 when 1/d overflows: ggml's C is undefined there, and d
/// is stored as f16 zero anyway), q = round(x·id) with ties away from zero (C `roundf`),
/// computed with the unrounded f32 id, clamped to ±127, and 0 for NaN (both undefined in C);
/// d stored as f16.
pub fn encode_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / GGML_BLOCK * 34);
    for block in values.chunks_exact(GGML_BLOCK) {
        let amax = block
            .iter()
            .fold(0.0f32, |m, v| if m > v.abs() { m } else { v.abs() });
        let d = amax / 127.0;
        let id = inverse(d);
        out.extend_from_slice(&f16_bits(d).to_le_bytes());
        out.extend(block.iter().map(|&x| q8_code(x * id) as u8));
    }
    out
}

/// 1/d, or 0 when d is 0 or 1/d overflows (d below about 2^-128).
fn inverse(d: f32) -> f32 {
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    if id.is_infinite() { 0.0 } else { id }
}

/// C `roundf` (half away from zero) into Q8_0's range: ±127, NaN → 0.
fn q8_code(v: f32) -> i8 {
    if v.is_nan() {
        0
    } else {
        v.round().clamp(-127.0, 127.0) as i8
    }
}

/// Q8_0 values: d·q.
pub fn decode_q8_0(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(2 + GGML_BLOCK)
        .flat_map(|block| {
            let d = f16_value(u16::from_le_bytes([block[0], block[1]])) as f64;
            block[2..].iter().map(move |&q| d * (q as i8) as f64)
        })
        .collect()
}

/// Q4_0: per block of 32, m = the element of largest magnitude with its sign (the first on
/// ties), d = m / −8, id = 1/d (0 when d = 0 or 1/d overflows), q = min(15, trunc(x·id + 8.5))
/// with the truncation through a signed 8-bit integer, clamped to 0 … 15, and 8 (zero) when
/// x·id is NaN; byte j holds element j (low nibble) and element j + 16 (high nibble); d stored
/// as f16.
pub fn encode_q4_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / GGML_BLOCK * 18);
    for block in values.chunks_exact(GGML_BLOCK) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = inverse(d);
        out.extend_from_slice(&f16_bits(d).to_le_bytes());
        let code = |x: f32| {
            let scaled = x * id; // rounded to f32 before the offset is added, as in the reference
            if scaled.is_nan() {
                8
            } else {
                ((scaled + 8.5) as i8).clamp(0, 15) as u8
            }
        };
        let (low, high) = block.split_at(GGML_BLOCK / 2);
        out.extend(
            low.iter()
                .zip(high)
                .map(|(&lo, &hi)| code(lo) | (code(hi) << 4)),
        );
    }
    out
}

/// Q4_0 values: d·(q − 8).
pub fn decode_q4_0(bytes: &[u8]) -> Vec<f64> {
    let mut out = Vec::with_capacity(bytes.len() / 18 * GGML_BLOCK);
    for block in bytes.chunks_exact(2 + GGML_BLOCK / 2) {
        let d = f16_value(u16::from_le_bytes([block[0], block[1]])) as f64;
        let nibbles = &block[2..];
        out.extend(nibbles.iter().map(|b| d * ((b & 0x0f) as f64 - 8.0)));
        out.extend(nibbles.iter().map(|b| d * ((b >> 4) as f64 - 8.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(f: impl Fn(usize) -> f32) -> Vec<f32> {
        (0..GGML_BLOCK).map(f).collect()
    }

    #[test]
    fn q8_0_rounds_ties_away_from_zero() {
        // amax 127 → d = 1, id = 1: 2.5 → 3 and −2.5 → −3 (half-to-even would give ±2).
        let mut x = block(|_| 0.0);
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -2.5;
        x[3] = 0.5;
        let b = encode_q8_0(&x);
        assert_eq!(u16::from_le_bytes([b[0], b[1]]), 0x3c00); // f16 1.0
        assert_eq!(
            b[2..6].iter().map(|&q| q as i8).collect::<Vec<_>>(),
            vec![127, 3, -3, 1]
        );
        assert_eq!(decode_q8_0(&b)[1], 3.0);
    }

    #[test]
    fn q8_0_all_zero_block_has_zero_scale_and_codes() {
        let b = encode_q8_0(&block(|_| 0.0));
        assert!(b.iter().all(|&x| x == 0));
    }

    /// Blocks whose scale underflows (1/d overflows in f32) and blocks holding NaN or ∞ must
    /// still give codes inside the format. Before this was defined, a tiny negative value gave
    /// the Q8_0 code −128 and a Q4_0 code of 0x80 that carried into the neighbouring nibble.
    #[test]
    fn tiny_and_special_blocks_give_codes_inside_the_format() {
        let tiny = block(|i| if i % 3 == 0 { -1e-40 } else { 1e-41 * i as f32 });
        let q8 = encode_q8_0(&tiny);
        assert_eq!(&q8[..2], &[0, 0], "d is f16 zero");
        assert!(q8[2..].iter().all(|&q| q == 0), "Q8_0 codes {:?}", &q8[2..]);
        let q4 = encode_q4_0(&tiny);
        assert!(
            q4[2..].iter().all(|&b| b == 0x88),
            "Q4_0 bytes {:x?}",
            &q4[2..]
        );
        let mut special = block(|i| i as f32 - 16.0);
        special[3] = f32::NAN;
        special[20] = f32::INFINITY;
        let q8 = encode_q8_0(&special);
        assert!(
            q8[2..].iter().all(|&q| q as i8 != -128),
            "Q8_0 codes {:?}",
            &q8[2..]
        );
        assert_eq!(q8[2 + 3], 0);
        // C's MAX lets the NaN reset amax: amax is the largest |x| after it (∞ here): d = ∞.
        assert_eq!(u16::from_le_bytes([q8[0], q8[1]]), 0x7c00);
        let q4 = encode_q4_0(&special);
        assert!(
            q4[2..].iter().all(|&b| b == 0x88),
            "Q4_0 bytes {:x?}",
            &q4[2..]
        );
        // A NaN after the largest value resets amax to what follows it: codes clamp to ±127.
        let mut reset = block(|_| 1.0);
        reset[0] = 1000.0;
        reset[1] = f32::NAN;
        let q8 = encode_q8_0(&reset);
        assert_eq!((q8[2] as i8, q8[3], q8[4] as i8), (127, 0, 127));
    }

    #[test]
    fn q4_0_takes_the_signed_extreme_and_packs_j_low_and_j_plus_16_high() {
        // Largest magnitude −8 (first on ties with +8 later): d = 1, id = 1.
        let mut x = block(|i| (i % 7) as f32 - 3.0);
        x[5] = -8.0;
        x[20] = 8.0;
        let b = encode_q4_0(&x);
        assert_eq!(u16::from_le_bytes([b[0], b[1]]), 0x3c00);
        // element 0: −3 → trunc(−3 + 8.5) = 5; element 16: (16 % 7) − 3 = −1 → 7.
        assert_eq!(b[2], 5 | (7 << 4));
        // element 5 (−8) → 0; element 21: (21 % 7) − 3 = −3 → 5.
        assert_eq!(b[2 + 5], 5 << 4);
        // element 20 (+8) → trunc(16.5) = 16 → clamped to 15, in the high nibble of byte 4.
        assert_eq!(b[2 + 4] >> 4, 15);
        let values = decode_q4_0(&b);
        assert_eq!((values[0], values[5], values[20]), (-3.0, -8.0, 7.0));
    }
}
