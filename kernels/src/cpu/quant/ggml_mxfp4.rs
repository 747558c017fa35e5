//! CPU pieces of GGML's MXFP4 (`block_mxfp4`), written from ggml's definition rather than its
//! loop: the shared exponent is ⌊log2f(amax)⌋ − 2 + 127 with log2f's rounding to f32 decided by
//! a threshold on amax's significand (no logarithm is computed), and each code is the E2M1
//! magnitude nearest |x| · 2^(127 − e), ties to the smaller one (ggml keeps the first index of
//! its table), among the values whose f32 product k · d is finite. Both zero codes decode as +0.

/// Values per block.
pub const BLOCK: usize = 32;

/// Bytes per block: the E8M0 byte and 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 17;

/// E2M1 magnitudes by code (the low three bits).
const MAGNITUDES: [f64; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];

/// How many of the largest 24-bit significands of a binade make log2f round up to the next
/// integer n, by j: n − L below half an f32 step under n, the step being 2^(j − 23) where
/// 2^j ≤ |n| (n ≤ −1) or 2^j ≤ n − 1 (n ≥ 2), so the count is ⌊2^j · ln 2⌋.
const ROUNDING_UP: [u32; 8] = [0, 1, 2, 5, 11, 22, 44, 88];

/// ⌊log2f(a)⌋ of a finite positive f32 given as bits, log2f correctly rounded to f32.
pub fn floor_log2f(bits: u32) -> i32 {
    let a = bits & 0x7fff_ffff;
    let (sig, exp) = if a >> 23 == 0 {
        let lz = a.leading_zeros() - 8;
        (a << lz, -126 - lz as i32)
    } else {
        ((a & 0x7f_ffff) | 0x80_0000, (a >> 23) as i32 - 127)
    };
    let n = exp + 1;
    let j = match n {
        2.. => (n - 1).ilog2(),
        ..=-1 => n.unsigned_abs().ilog2(),
        _ => return exp,
    };
    if sig >= (1 << 24) - ROUNDING_UP[j as usize] {
        n
    } else {
        exp
    }
}

/// The block's E8M0 byte from its amax (NaN skipped): 0 for a zero block, 0xFF for one
/// holding ∞, else ⌊log2f(amax)⌋ − 2 + 127 kept within 0 … 255.
pub fn shared_exponent(amax: f32) -> u8 {
    if amax == 0.0 {
        0
    } else if amax.is_infinite() {
        0xff
    } else {
        (floor_log2f(amax.to_bits()) - 2 + 127).clamp(0, 255) as u8
    }
}

/// The code of x in a block with byte e.
fn code(x: f32, e: u8) -> u8 {
    if !x.is_finite() {
        return 0;
    }
    let unit = 2f64.powi(e as i32 - 127);
    let v = (x as f64).abs() / unit;
    let mut best = 0;
    for (m, g) in MAGNITUDES.iter().enumerate().skip(1) {
        let finite = ((g * unit) as f32).is_finite();
        if finite && (g - v).abs() < (MAGNITUDES[best] - v).abs() {
            best = m;
        }
    }
    if best != 0 && x < 0.0 {
        best as u8 | 8
    } else {
        best as u8
    }
}

/// One block of 32 values: the E8M0 byte, then byte j = code j | code (j + 16) << 4.
pub fn quantize_block(block: &[f32]) -> [u8; BLOCK_BYTES] {
    let amax = block
        .iter()
        .fold(0.0f32, |m, v| if m < v.abs() { v.abs() } else { m });
    let e = shared_exponent(amax);
    let mut out = [0u8; BLOCK_BYTES];
    out[0] = e;
    for j in 0..BLOCK / 2 {
        out[1 + j] = code(block[j], e) | code(block[j + BLOCK / 2], e) << 4;
    }
    out
}

/// E2M1 value of a nibble, +0 for both zeros (ggml's table holds the integer 0 twice).
pub fn element(nibble: u8) -> f64 {
    let magnitude = MAGNITUDES[(nibble & 7) as usize];
    if nibble & 8 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Element i of a block's 16 code bytes (Q4_0's order).
pub fn nibble_at(codes: &[u8], i: usize) -> u8 {
    let byte = codes[i % (BLOCK / 2)];
    if i < BLOCK / 2 {
        byte & 0x0f
    } else {
        byte >> 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The significand threshold gives what rounding a near-exact log2 to f32 gives, at and
    /// around every binade's threshold.
    #[test]
    fn the_threshold_is_where_log2f_rounds_up() {
        for biased in 1u32..255 {
            for below in 0..100u32 {
                let bits = (biased << 23) | (0x7f_ffff - below);
                let x = f32::from_bits(bits);
                let expected = ((x as f64).log2() as f32).floor() as i32;
                assert_eq!(floor_log2f(bits), expected, "{x:e}");
            }
            let x = f32::from_bits(biased << 23);
            assert_eq!(floor_log2f(x.to_bits()), biased as i32 - 127);
        }
    }

    #[test]
    fn ties_go_down_and_negative_zero_codes_are_positive() {
        // amax 4: e = 127, unit 1.
        assert_eq!(code(1.75, 127), 3);
        assert_eq!(code(-5.0, 127), 6 | 8);
        assert_eq!(code(-0.25, 127), 0);
        assert_eq!(code(100.0, 127), 7);
        // e = 0xFF: only 0 and 2^127 are finite.
        assert_eq!(code(3e38, 0xff), 1);
        assert_eq!(code(f32::INFINITY, 0xff), 0);
    }
}
