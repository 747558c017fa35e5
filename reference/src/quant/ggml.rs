//! GGML's Q8_0 and Q4_0, as its reference quantizers (`quantize_row_q8_0_ref`,
//! `quantize_row_q4_0_ref`) define them.

use crosscheck_spec::GGML_BLOCK;

use super::{f16_bits, f16_value};

/// Q8_0: per block of 32, d = amax / 127, id = 1/d (0 when d = 0), q = round(x·id) with ties
/// away from zero (C `roundf`), computed with the unrounded f32 id; d stored as f16.
pub fn encode_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / GGML_BLOCK * 34);
    for block in values.chunks_exact(GGML_BLOCK) {
        let amax = block
            .iter()
            .fold(0.0f32, |m, v| if v.abs() > m { v.abs() } else { m });
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16_bits(d).to_le_bytes());
        // f32::round is round-half-away-from-zero, like C's roundf.
        out.extend(block.iter().map(|x| (x * id).round() as i8 as u8));
    }
    out
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
/// ties), d = m / −8, id = 1/d (0 when d = 0), q = min(15, trunc(x·id + 8.5)) with the
/// truncation through a signed 8-bit integer; byte j holds element j (low nibble) and element
/// j + 16 (high nibble); d stored as f16.
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
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16_bits(d).to_le_bytes());
        let code = |x: f32| {
            let scaled = x * id; // rounded to f32 before the offset is added, as in the reference
            ((scaled + 8.5) as i8).min(15) as u8
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
