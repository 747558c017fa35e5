//! GGML's MXFP4 (`block_mxfp4` in ggml-common.h): blocks of 32 values, 17 bytes each: an E8M0
//! byte e, then 16 bytes where byte j holds element j in its low nibble and element j + 16 in
//! its high nibble (Q4_0's order, not the OCP one). Quantization follows ggml's
//! `quantize_row_mxfp4_ref` operation by operation in f32:
//!
//! 1. amax = the largest |x| (NaN never replaces it: `if (amax < fabsf(v))`);
//! 2. e = ⌊log2f(amax)⌋ − 2 + 127, or 0 when amax is 0; log2f is rounded to f32 before the
//!    floor, so an amax just below a power of two takes that power's exponent;
//! 3. d = 2^(e − 128) (ggml keeps E2M1 values doubled: 0, 1, 2, 3, 4, 6, 8, 12);
//! 4. each code is the first index i of the doubled table minimising f32 |kᵢ · d − x|.
//!
//! Where ggml's C is undefined (the float → uint8_t conversion of step 2 is out of range when
//! amax < 2^-125 or amax = ∞) crosscheck clamps: e = 0 for tiny blocks, e = 0xFF for a block
//! holding ∞. Decoding follows `dequantize_row_mxfp4`: kᵢ · d in f32, where d for e = 0xFF is
//! 2^127 (ggml does not treat it as NaN).

/// Values per block.
pub const GGML_MXFP4_BLOCK: usize = 32;

/// Bytes per block.
pub const GGML_MXFP4_BLOCK_BYTES: usize = 17;

/// E2M1 values doubled, by code (ggml's `kvalues_mxfp4`).
const DOUBLED: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// ggml's `GGML_E8M0_TO_FP32_HALF`: 2^(e − 128) as f32 bits, e = 0 and 1 being subnormal.
pub fn e8m0_half(e: u8) -> f32 {
    if e < 2 {
        f32::from_bits(0x0020_0000 << e)
    } else {
        f32::from_bits(((e - 1) as u32) << 23)
    }
}

/// ⌊log2f(amax)⌋ with log2f correctly rounded to f32.
fn floor_log2f(amax: f32) -> i32 {
    ((amax as f64).log2() as f32).floor() as i32
}

/// The block's E8M0 byte.
fn shared_exponent(amax: f32) -> u8 {
    if amax == 0.0 {
        return 0;
    }
    if amax.is_infinite() {
        return 0xff;
    }
    (floor_log2f(amax) - 2 + 127).clamp(0, 255) as u8
}

/// The first code whose doubled value times d is nearest x (NaN: code 0).
fn best_index(x: f32, d: f32) -> u8 {
    let mut best = 0u8;
    let mut best_err = (DOUBLED[0] as f32 * d - x).abs();
    for (i, &k) in DOUBLED.iter().enumerate().skip(1) {
        let err = (k as f32 * d - x).abs();
        if err < best_err {
            best = i as u8;
            best_err = err;
        }
    }
    best
}

/// Encodes a whole number of blocks.
pub fn encode(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / GGML_MXFP4_BLOCK * GGML_MXFP4_BLOCK_BYTES);
    for block in values.chunks_exact(GGML_MXFP4_BLOCK) {
        let mut amax = 0.0f32;
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
            }
        }
        let e = shared_exponent(amax);
        let d = e8m0_half(e);
        out.push(e);
        let (low, high) = block.split_at(GGML_MXFP4_BLOCK / 2);
        out.extend(
            low.iter()
                .zip(high)
                .map(|(&lo, &hi)| best_index(lo, d) | (best_index(hi, d) << 4)),
        );
    }
    out
}

/// Decodes blocks as `dequantize_row_mxfp4`: doubled value · d in f32.
pub fn decode(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / GGML_MXFP4_BLOCK_BYTES * GGML_MXFP4_BLOCK);
    for block in bytes.chunks_exact(GGML_MXFP4_BLOCK_BYTES) {
        let d = e8m0_half(block[0]);
        let nibbles = &block[1..];
        out.extend(
            nibbles
                .iter()
                .map(|b| DOUBLED[(b & 0x0f) as usize] as f32 * d),
        );
        out.extend(
            nibbles
                .iter()
                .map(|b| DOUBLED[(b >> 4) as usize] as f32 * d),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_smaller_magnitude_and_nibbles_pair_j_with_j_plus_16() {
        // amax 4 → e = 2 − 2 + 127 = 127, d = 0.5: doubled grid k · 0.5 = E2M1 values.
        let mut x = vec![0.0f32; 32];
        x[0] = 4.0;
        x[1] = 1.75; // tie between 1.5 (code 3) and 2 (code 4): the first, 3
        x[16] = -1.25; // tie between −1 (code 10) and −1.5 (code 11): 10
        let b = encode(&x);
        assert_eq!(b[0], 127);
        assert_eq!(b[1], 6 | (10 << 4));
        assert_eq!(b[2], 3);
        let back = decode(&b);
        assert_eq!((back[0], back[1], back[16]), (4.0, 1.5, -1.0));
    }

    #[test]
    fn log2f_rounding_takes_the_next_exponent_just_below_a_power_of_two() {
        let below_8 = f32::from_bits(8.0f32.to_bits() - 1);
        assert_eq!(shared_exponent(below_8), 3 - 2 + 127);
        // Just below 2, log2f stays below 1: the exponent is 0, as OCP's floor would give.
        assert_eq!(shared_exponent(f32::from_bits(2.0f32.to_bits() - 1)), 125);
    }

    #[test]
    fn special_blocks_are_defined() {
        assert_eq!(shared_exponent(1e-40), 0);
        assert_eq!(shared_exponent(f32::INFINITY), 0xff);
        assert_eq!(best_index(f32::NAN, 1.0), 0);
        assert_eq!(e8m0_half(0), crosscheck_spec::pow2_f32(-128));
        assert_eq!(e8m0_half(255), crosscheck_spec::pow2(127) as f32);
    }
}
