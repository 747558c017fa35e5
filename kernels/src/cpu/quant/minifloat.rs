//! The OCP minifloat element types (FP8 E5M2 and E4M3, FP6 E3M2 and E2M3, FP4 E2M1) by integer
//! operations on the f32 bits: encoding a value times a power of two (the MX scale applied on
//! the way, exactly), nearest even, saturating or — where the type has one — overflowing to ∞.

/// An element type's fields and its special codes (positive; the sign bit is added).
#[derive(Debug, Clone, Copy)]
pub struct Element {
    /// Exponent bits.
    pub exp_bits: u32,
    /// Mantissa bits.
    pub man_bits: u32,
    /// Exponent bias.
    pub bias: i32,
    /// Code of the largest finite magnitude.
    pub max_code: u32,
    /// Code of +∞, if the type has one.
    pub inf_code: Option<u32>,
    /// Code of the positive NaN written for NaN inputs, if the type has one.
    pub nan_code: Option<u32>,
}

/// FP8 E5M2: largest 57344, ∞ = 0x7c, NaN written as 0x7e.
pub const E5M2: Element = Element {
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    max_code: 0x7b,
    inf_code: Some(0x7c),
    nan_code: Some(0x7e),
};
/// FP8 E4M3: largest 448, NaN 0x7f, no ∞.
pub const E4M3: Element = Element {
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    max_code: 0x7e,
    inf_code: None,
    nan_code: Some(0x7f),
};
/// FP6 E3M2: largest 28.
pub const E3M2: Element = Element {
    exp_bits: 3,
    man_bits: 2,
    bias: 3,
    max_code: 0x1f,
    inf_code: None,
    nan_code: None,
};
/// FP6 E2M3: largest 7.5.
pub const E2M3: Element = Element {
    exp_bits: 2,
    man_bits: 3,
    bias: 1,
    max_code: 0x1f,
    inf_code: None,
    nan_code: None,
};
/// FP4 E2M1: largest 6.
pub const E2M1: Element = Element {
    exp_bits: 2,
    man_bits: 1,
    bias: 1,
    max_code: 0x7,
    inf_code: None,
    nan_code: None,
};

impl Element {
    fn sign_bit(self) -> u32 {
        1 << (self.exp_bits + self.man_bits)
    }

    /// Exponent of the largest finite value (the MX specification's emax).
    pub fn emax(self) -> i32 {
        (self.max_code >> self.man_bits) as i32 - self.bias
    }

    /// The largest finite value: (1 + its mantissa field / 2^man_bits) · 2^emax, exact in f32.
    pub fn max_finite(self) -> f32 {
        let fraction = (self.max_code & ((1 << self.man_bits) - 1)) as f32;
        (1.0 + fraction / (1u32 << self.man_bits) as f32) * 2f32.powi(self.emax())
    }

    /// The code of x · 2^-shift, nearest even; past the largest finite value ∞ when `to_inf`
    /// and the type has ∞, else the largest finite value. NaN gives the type's NaN (or +0).
    pub fn encode(self, x: f32, shift: i32, to_inf: bool) -> u8 {
        let bits = x.to_bits();
        let sign = if bits >> 31 == 1 { self.sign_bit() } else { 0 };
        let overflow = |sign: u32| match (to_inf, self.inf_code) {
            (true, Some(inf)) => sign | inf,
            _ => sign | self.max_code,
        };
        if x.is_nan() {
            return self.nan_code.map_or(0, |n| sign | n) as u8;
        }
        if x.is_infinite() {
            return overflow(sign) as u8;
        }
        let a = bits & 0x7fff_ffff;
        if a == 0 {
            return sign as u8;
        }
        // |x| = sig · 2^(e − 23), sig in [2^23, 2^24).
        let (sig, e) = if a >> 23 == 0 {
            let lz = a.leading_zeros() - 8;
            ((a << lz) as u64, -126 - lz as i32)
        } else {
            (((a & 0x7f_ffff) | 0x80_0000) as u64, (a >> 23) as i32 - 127)
        };
        let exp = e - shift;
        let min_exp = 1 - self.bias;
        let m = self.man_bits as i32;
        // Quantum 2^(max(exp, min_exp) − m): n = |x|·2^-shift / quantum, rounded.
        let right = 23 - m + (min_exp - exp).max(0);
        let n = if right >= 40 {
            0
        } else {
            let kept = sig >> right;
            let rest = sig & ((1u64 << right) - 1);
            let half = 1u64 << (right - 1);
            kept + u64::from(rest > half || (rest == half && kept & 1 == 1))
        } as i64;
        let code = if exp >= min_exp {
            (((exp + self.bias) as i64) << m) + n - (1i64 << m)
        } else {
            n
        };
        if code > self.max_code as i64 {
            return overflow(sign) as u8;
        }
        (sign | code as u32) as u8
    }

    /// The exact value of a code as f64 (NaN and ±∞ where the type has them).
    pub fn decode(self, code: u8) -> f64 {
        let code = code as u32;
        let negative = code & self.sign_bit() != 0;
        let magnitude = code & (self.sign_bit() - 1);
        let v = if Some(magnitude) == self.inf_code {
            f64::INFINITY
        } else if magnitude > self.max_code {
            f64::NAN
        } else {
            let field = (magnitude >> self.man_bits) as i32;
            let mantissa = (magnitude & ((1 << self.man_bits) - 1)) as f64;
            let m = self.man_bits as i32;
            if field == 0 {
                mantissa * 2f64.powi(1 - self.bias - m)
            } else {
                (mantissa + (1 << m) as f64) * 2f64.powi(field - self.bias - m)
            }
        };
        if negative { -v } else { v }
    }
}

/// Packs codes of `bits` bits into bytes, the first in the lowest bits (8: one a byte).
pub fn pack(bits: u32, codes: &[u8], out: &mut Vec<u8>) {
    let mut acc = 0u32;
    let mut held = 0;
    for &c in codes {
        acc |= (c as u32 & ((1 << bits) - 1)) << held;
        held += bits;
        while held >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
}

/// Code `i` of a run of `bits`-bit codes packed by [`pack`].
pub fn code_at(bits: u32, bytes: &[u8], i: usize) -> u8 {
    let bit = i * bits as usize;
    let word = bytes[bit / 8] as u32 | bytes.get(bit / 8 + 1).map_or(0, |&b| (b as u32) << 8);
    ((word >> (bit % 8)) & ((1 << bits) - 1)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_ties_go_to_even() {
        for t in [E5M2, E4M3, E3M2, E2M3, E2M1] {
            for c in 0..=(t.sign_bit() * 2 - 1) as u8 {
                let v = t.decode(c);
                if v.is_finite() {
                    assert_eq!(t.encode(v as f32, 0, false), c, "{t:?} {c:#x}");
                }
            }
        }
        assert_eq!(E2M1.encode(5.0, 0, false), 0x6); // 5 between 4 (0b110) and 6: even
        assert_eq!(E2M1.encode(-1.25, 0, false), 0xa);
        assert_eq!(E5M2.encode(61440.0, 0, true), 0x7c);
        assert_eq!(E5M2.encode(61440.0, 0, false), 0x7b);
        assert_eq!(E2M1.encode(12.0, 1, false), 0x7); // 12 · 2^-1 = 6
        let mut bytes = Vec::new();
        pack(6, &[0x3f, 0, 0x15, 0x2a], &mut bytes);
        assert_eq!(bytes, vec![0x3f, 0x50, 0xa9]);
        assert_eq!(code_at(6, &bytes, 3), 0x2a);
    }
}
