//! CPU pieces of OCP MXINT8: elements are two's-complement bytes q standing for q / 64, within
//! ±127; the shared exponent is ⌊log2 amax⌋ (the element's emax is 0).

/// The code of x · 2^-shift: x · 2^(6 − shift) rounded to the nearest integer, ties to even
/// (exact in f64), kept within ±127. NaN and ∞ never reach it (their block's scale is NaN).
pub fn encode(x: f32, shift: i32) -> u8 {
    let q = (x as f64 * 2f64.powi(6 - shift)).round_ties_even();
    q.clamp(-127.0, 127.0) as i8 as u8
}

/// The value of a code: q / 64, exactly.
pub fn decode(code: u8) -> f64 {
    code as i8 as f64 / 64.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_to_even_and_stay_symmetric() {
        assert_eq!(encode(1.0, 0), 64);
        assert_eq!(encode(0.5 / 64.0, 0), 0);
        assert_eq!(encode(1.5 / 64.0, 0), 2);
        assert_eq!(encode(-1.99, 0), (-127i8) as u8);
        assert_eq!(encode(3.0, 1), 96);
        assert_eq!(decode(0x81), -127.0 / 64.0);
    }
}
