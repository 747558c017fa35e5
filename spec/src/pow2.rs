//! Exact powers of two built from exponent bits: `powi` is a libm call in the hot loops of the
//! oracle and the bounds (and loses 2^e below the normal range), while these are fast and exact.

/// 2^e as f64: exact down to the smallest subnormal (e ≥ −1074), 0 below it, ∞ above 1023.
pub fn pow2(e: i32) -> f64 {
    match e {
        1024.. => f64::INFINITY,
        -1022..=1023 => f64::from_bits(((e + 1023) as u64) << 52),
        -1074..=-1023 => f64::from_bits(1u64 << (e + 1074)),
        _ => 0.0,
    }
}

/// 2^e as f32: exact down to the smallest subnormal (e ≥ −149), 0 below it, ∞ above 127.
pub fn pow2_f32(e: i32) -> f32 {
    match e {
        128.. => f32::INFINITY,
        -126..=127 => f32::from_bits(((e + 127) as u32) << 23),
        -149..=-127 => f32::from_bits(1u32 << (e + 149)),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_powers_match_repeated_doubling_and_halving() {
        let (mut up, mut down) = (1.0f64, 1.0f64);
        for e in 0..=1080 {
            assert_eq!(pow2(e), up, "2^{e}");
            assert_eq!(pow2(-e), down, "2^-{e}");
            up *= 2.0;
            down /= 2.0;
        }
    }

    #[test]
    fn f32_powers_match_repeated_doubling_and_halving() {
        let (mut up, mut down) = (1.0f32, 1.0f32);
        for e in 0..=160 {
            assert_eq!(pow2_f32(e), up, "2^{e}");
            assert_eq!(pow2_f32(-e), down, "2^-{e}");
            up *= 2.0;
            down /= 2.0;
        }
    }
}
