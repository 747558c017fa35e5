//! Small binary floating-point element types: FP8 E5M2 and E4M3, FP6 E2M3 and E3M2, FP4 E2M1
//! (OCP 8-bit floating point and OCP MX v1.0 element types). One description of a format's
//! fields and specials, and one conversion each way, so every block format rounds the same way.

use crate::rounding::exponent_of;

/// What a format's all-ones exponent field means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Specials {
    /// IEEE-like: all-ones exponent with a zero mantissa is ±∞, any other mantissa NaN (E5M2).
    Ieee,
    /// Only S.1111.111 is NaN; no infinities (OCP E4M3).
    NanOnly,
    /// Every code is a finite number (the MX FP6 and FP4 element types).
    None,
}

pub use crosscheck_spec::ElementRounding;

/// What happens to a value past the largest finite one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Becomes ±max finite (infinite inputs too).
    #[default]
    Saturate,
    /// Becomes ±∞ when rounding carries it past the largest finite value (IEEE; needs ∞ codes).
    Infinity,
}

/// A sign-exponent-mantissa format of at most 8 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minifloat {
    /// Exponent bits.
    pub exp_bits: u32,
    /// Mantissa (fraction) bits.
    pub man_bits: u32,
    /// Exponent bias.
    pub bias: i32,
    /// Meaning of the all-ones exponent.
    pub specials: Specials,
}

/// OCP FP8 E5M2: bias 15, ±∞ and NaNs, largest finite 57344.
pub const E5M2: Minifloat = Minifloat {
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    specials: Specials::Ieee,
};
/// OCP FP8 E4M3: bias 7, NaN = S.1111.111, no infinities, largest finite 448.
pub const E4M3: Minifloat = Minifloat {
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    specials: Specials::NanOnly,
};
/// OCP MX FP6 E3M2: bias 3, no specials, largest 28.
pub const E3M2: Minifloat = Minifloat {
    exp_bits: 3,
    man_bits: 2,
    bias: 3,
    specials: Specials::None,
};
/// OCP MX FP6 E2M3: bias 1, no specials, largest 7.5.
pub const E2M3: Minifloat = Minifloat {
    exp_bits: 2,
    man_bits: 3,
    bias: 1,
    specials: Specials::None,
};
/// OCP MX FP4 E2M1: bias 1, no specials, largest 6 (values 0, 0.5, 1, 1.5, 2, 3, 4, 6).
pub const E2M1: Minifloat = Minifloat {
    exp_bits: 2,
    man_bits: 1,
    bias: 1,
    specials: Specials::None,
};

impl Minifloat {
    /// Bits of a code (sign included).
    pub fn bits(self) -> u32 {
        1 + self.exp_bits + self.man_bits
    }

    fn sign_bit(self) -> u8 {
        1 << (self.exp_bits + self.man_bits)
    }

    fn top_field(self) -> i32 {
        (1 << self.exp_bits) - 1
    }

    /// Exponent of the smallest normal value.
    pub fn min_exp(self) -> i32 {
        1 - self.bias
    }

    /// Exponent of the largest finite value (`emax` in the OCP MX specification).
    pub fn emax(self) -> i32 {
        match self.specials {
            Specials::Ieee => self.top_field() - 1 - self.bias,
            Specials::NanOnly | Specials::None => self.top_field() - self.bias,
        }
    }

    /// Magnitude code of the largest finite value.
    fn max_code(self) -> u8 {
        let all = (1u8 << (self.exp_bits + self.man_bits)) - 1;
        match self.specials {
            Specials::Ieee => all - (1 << self.man_bits), // exponent field top − 1, mantissa all ones
            Specials::NanOnly => all - 1,
            Specials::None => all,
        }
    }

    /// Largest finite value.
    pub fn max_finite(self) -> f64 {
        decode_magnitude(self, self.max_code())
    }

    /// The NaN code with the given sign, if the format has one (E5M2: the quiet S.11111.10;
    /// E4M3: S.1111.111).
    pub fn nan_code(self, negative: bool) -> Option<u8> {
        let sign = if negative { self.sign_bit() } else { 0 };
        let top = (self.top_field() as u8) << self.man_bits;
        match self.specials {
            Specials::Ieee => Some(sign | top | (1 << (self.man_bits - 1))),
            Specials::NanOnly => Some(sign | top | ((1 << self.man_bits) - 1)),
            Specials::None => None,
        }
    }

    /// Encodes an f32 (see [`Minifloat::encode_f64`]).
    pub fn encode(self, x: f32, rounding: ElementRounding, overflow: Overflow) -> u8 {
        if x.is_nan() {
            return self.nan_or_zero(x.is_sign_negative());
        }
        self.encode_f64(x as f64, rounding, overflow)
    }

    /// Encodes a value: rounds to the grid (`rounding`), then a magnitude past the largest finite
    /// value saturates or becomes ∞ (`overflow`; formats without ∞ always saturate). NaN becomes
    /// the format's NaN, or +0 in formats without one (ml_dtypes does the same). Zero keeps its sign.
    pub fn encode_f64(self, x: f64, rounding: ElementRounding, overflow: Overflow) -> u8 {
        if x.is_nan() {
            return self.nan_or_zero(x.is_sign_negative());
        }
        let sign = if x.is_sign_negative() {
            self.sign_bit()
        } else {
            0
        };
        let to_infinity = overflow == Overflow::Infinity && self.specials == Specials::Ieee;
        let inf_code = (self.top_field() as u8) << self.man_bits;
        let v = x.abs();
        if v.is_infinite() {
            return sign
                | if to_infinity {
                    inf_code
                } else {
                    self.max_code()
                };
        }
        let r = round_grid(v, self.man_bits as i32 + 1, self.min_exp(), rounding);
        if r > self.max_finite() {
            return sign
                | if to_infinity {
                    inf_code
                } else {
                    self.max_code()
                };
        }
        sign | self.magnitude_code(r)
    }

    fn nan_or_zero(self, negative: bool) -> u8 {
        self.nan_code(negative).unwrap_or(0)
    }

    /// Code of a non-negative value on the grid.
    fn magnitude_code(self, r: f64) -> u8 {
        if r == 0.0 {
            return 0;
        }
        let e = exponent_of(r);
        if e < self.min_exp() {
            return (r / crosscheck_spec::pow2(self.min_exp() - self.man_bits as i32)) as u8;
        }
        let mantissa = (r / crosscheck_spec::pow2(e) - 1.0) * (1u32 << self.man_bits) as f64;
        (((e + self.bias) as u8) << self.man_bits) | mantissa as u8
    }

    /// Decodes a code (bits above [`Minifloat::bits`] ignored) to f32, exactly.
    pub fn decode(self, code: u8) -> f32 {
        self.decode_f64(code) as f32
    }

    /// Decodes a code to f64, exactly.
    pub fn decode_f64(self, code: u8) -> f64 {
        let code = code & ((1u16 << self.bits()) - 1) as u8;
        let negative = code & self.sign_bit() != 0;
        let magnitude = code & (self.sign_bit() - 1);
        let v = decode_magnitude(self, magnitude);
        if negative { -v } else { v }
    }
}

fn decode_magnitude(f: Minifloat, magnitude: u8) -> f64 {
    let field = (magnitude >> f.man_bits) as i32;
    let mantissa = (magnitude & ((1 << f.man_bits) - 1)) as f64;
    let scale = (1u32 << f.man_bits) as f64;
    if field == f.top_field() {
        match f.specials {
            Specials::Ieee if mantissa == 0.0 => return f64::INFINITY,
            Specials::Ieee => return f64::NAN,
            Specials::NanOnly if mantissa == scale - 1.0 => return f64::NAN,
            _ => {}
        }
    }
    if field == 0 {
        mantissa / scale * crosscheck_spec::pow2(f.min_exp())
    } else {
        (1.0 + mantissa / scale) * crosscheck_spec::pow2(field - f.bias)
    }
}

/// Rounds a finite non-negative `v` to the grid of `digits` significant bits whose smallest
/// normal exponent is `min_exp` (subnormals below it), ties as `rounding` says. No upper limit.
pub fn round_grid(v: f64, digits: i32, min_exp: i32, rounding: ElementRounding) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let quantum = crosscheck_spec::pow2(exponent_of(v).max(min_exp) - (digits - 1));
    let scaled = v / quantum; // exact: a power-of-two scaling
    let integral = match rounding {
        ElementRounding::Even => scaled.round_ties_even(),
        ElementRounding::Away => scaled.round(),
    };
    integral * quantum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_have_the_documented_extremes() {
        assert_eq!(E5M2.max_finite(), 57344.0);
        assert_eq!(E4M3.max_finite(), 448.0);
        assert_eq!(E3M2.max_finite(), 28.0);
        assert_eq!(E2M3.max_finite(), 7.5);
        assert_eq!(E2M1.max_finite(), 6.0);
        assert_eq!(
            (
                E5M2.emax(),
                E4M3.emax(),
                E3M2.emax(),
                E2M3.emax(),
                E2M1.emax()
            ),
            (15, 8, 4, 2, 2)
        );
        assert_eq!(E5M2.decode_f64(1), crosscheck_spec::pow2(-16));
        assert_eq!(E2M1.decode(1), 0.5);
    }

    #[test]
    fn e5m2_specials_and_overflow_choice() {
        let (e, s, i) = (
            ElementRounding::Even,
            Overflow::Saturate,
            Overflow::Infinity,
        );
        assert_eq!(E5M2.encode(f32::INFINITY, e, i), 0x7c);
        assert_eq!(E5M2.encode(f32::INFINITY, e, s), 0x7b);
        assert_eq!(E5M2.encode(61439.0, e, i), 0x7b);
        assert_eq!(E5M2.encode(61440.0, e, i), 0x7c); // the tie above 57344 rounds to even: ∞
        assert_eq!(E5M2.encode(-61440.0, e, s), 0xfb);
        assert!(E5M2.decode(E5M2.encode(f32::NAN, e, i)).is_nan());
        assert_eq!(E5M2.decode(0x7c), f32::INFINITY);
    }

    #[test]
    fn ties_follow_the_rounding_choice() {
        // 1.25 lies halfway between E2M1's 1 and 1.5: even → 1 (code 2), away → 1.5 (code 3).
        assert_eq!(
            E2M1.encode(1.25, ElementRounding::Even, Overflow::Saturate),
            2
        );
        assert_eq!(
            E2M1.encode(1.25, ElementRounding::Away, Overflow::Saturate),
            3
        );
        assert_eq!(
            E2M1.encode(-5.0, ElementRounding::Even, Overflow::Saturate),
            0xe
        ); // −4
        assert_eq!(
            E2M1.encode(-5.0, ElementRounding::Away, Overflow::Saturate),
            0xf
        ); // −6
        assert_eq!(
            E2M1.encode(100.0, ElementRounding::Even, Overflow::Infinity),
            7
        );
    }

    #[test]
    fn every_code_round_trips() {
        for f in [E5M2, E4M3, E3M2, E2M3, E2M1] {
            for code in 0..(1u16 << f.bits()) as u8 {
                let v = f.decode(code);
                if !v.is_nan() {
                    let back = f.encode(v, ElementRounding::Even, Overflow::Infinity);
                    assert_eq!(back, code, "{f:?} {code:#x} = {v}");
                }
            }
        }
    }
}
