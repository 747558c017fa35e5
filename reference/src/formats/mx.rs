//! The OCP MX v1.0 block formats: blocks of 32 consecutive values along a row share one E8M0
//! scale X; each element is a value of the element type (FP8 E4M3 or E5M2, FP6 E2M3 or E3M2,
//! FP4 E2M1, or INT8 with an implied 2^-6) and stands for X · element.
//!
//! Layout per block: the scale byte, then the packed elements: one byte each for FP8 and INT8;
//! FP6 as a little-endian bit stream (element i in bits 6i … 6i + 5 of the 24 element bytes);
//! FP4 two to a byte, element 2i in the low nibble of byte i.

use super::e8m0::{ElementRange, ScaleRule, e8m0_exponent, scale_byte};
use super::minifloat::{E2M1, E2M3, E3M2, E4M3, E5M2, ElementRounding, Minifloat, Overflow};

/// Values per MX block.
pub const MX_BLOCK: usize = 32;

/// An MX element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MxElement {
    /// A float element.
    Float(Minifloat),
    /// MXINT8: a two's-complement byte q standing for q / 64, saturated to ±127.
    Int8,
}

/// MXFP8 with E4M3 elements.
pub const MXFP8_E4M3: MxElement = MxElement::Float(E4M3);
/// MXFP8 with E5M2 elements.
pub const MXFP8_E5M2: MxElement = MxElement::Float(E5M2);
/// MXFP6 with E2M3 elements.
pub const MXFP6_E2M3: MxElement = MxElement::Float(E2M3);
/// MXFP6 with E3M2 elements.
pub const MXFP6_E3M2: MxElement = MxElement::Float(E3M2);
/// MXFP4 (E2M1 elements).
pub const MXFP4: MxElement = MxElement::Float(E2M1);
/// MXINT8.
pub const MXINT8: MxElement = MxElement::Int8;

impl MxElement {
    /// Bits per element.
    pub fn bits(self) -> usize {
        match self {
            MxElement::Float(f) => f.bits() as usize,
            MxElement::Int8 => 8,
        }
    }

    /// Bytes of one block: the scale byte and 32 packed elements.
    pub fn block_bytes(self) -> usize {
        1 + MX_BLOCK * self.bits() / 8
    }

    /// What the scale rules need: emax, mantissa bits and the largest element.
    pub fn range(self) -> ElementRange {
        match self {
            MxElement::Float(f) => ElementRange {
                emax: f.emax(),
                mbits: f.man_bits,
                max: f.max_finite() as f32,
            },
            MxElement::Int8 => ElementRange {
                emax: 0,
                mbits: 6,
                max: 127.0 / 64.0,
            },
        }
    }

    /// Code of the element nearest `v` (already divided by the block scale), saturating.
    pub fn encode(self, v: f64, rounding: ElementRounding) -> u8 {
        match self {
            MxElement::Float(f) => f.encode_f64(v, rounding, Overflow::Saturate),
            MxElement::Int8 => {
                let scaled = v * 64.0;
                let q = match rounding {
                    ElementRounding::Even => scaled.round_ties_even(),
                    ElementRounding::Away => scaled.round(),
                };
                q.clamp(-127.0, 127.0) as i8 as u8
            }
        }
    }

    /// Value of an element code, exactly.
    pub fn decode(self, code: u8) -> f64 {
        match self {
            MxElement::Float(f) => f.decode_f64(code),
            MxElement::Int8 => code as i8 as f64 / 64.0,
        }
    }
}

/// The largest magnitude of a block, NaN if any element is NaN.
pub fn block_amax(block: &[f32]) -> f32 {
    block.iter().fold(0.0f32, |m, &v| {
        if m.is_nan() || v.is_nan() {
            f32::NAN
        } else {
            m.max(v.abs())
        }
    })
}

/// Encodes values (a whole number of blocks; blocks never straddle rows because rows are
/// multiples of 32). A block whose scale is NaN (a NaN or ∞ inside) gets all-zero element codes.
pub fn encode(
    element: MxElement,
    rule: ScaleRule,
    rounding: ElementRounding,
    values: &[f32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / MX_BLOCK * element.block_bytes());
    for block in values.chunks_exact(MX_BLOCK) {
        let scale = scale_byte(block_amax(block), element.range(), rule);
        out.push(scale);
        let codes: Vec<u8> = match e8m0_exponent(scale) {
            None => vec![0; MX_BLOCK],
            Some(e) => block
                .iter()
                .map(|&x| element.encode(x as f64 * crosscheck_spec::pow2(-e), rounding))
                .collect(),
        };
        pack(element.bits(), &codes, &mut out);
    }
    out
}

/// Exact values of the blocks: element · 2^(scale − 127); every element of a NaN-scale block is NaN.
pub fn decode_exact(element: MxElement, bytes: &[u8]) -> Vec<f64> {
    let mut out = Vec::with_capacity(bytes.len() / element.block_bytes() * MX_BLOCK);
    for block in bytes.chunks_exact(element.block_bytes()) {
        let codes = unpack(element.bits(), &block[1..]);
        match e8m0_exponent(block[0]) {
            None => out.extend(std::iter::repeat_n(f64::NAN, MX_BLOCK)),
            Some(e) => out.extend(
                codes
                    .iter()
                    .map(|&c| element.decode(c) * crosscheck_spec::pow2(e)),
            ),
        }
    }
    out
}

/// Appends 32 codes of `bits` bits each: whole bytes for 8, a little-endian bit stream otherwise
/// (FP4: element 2i in the low nibble of byte i; FP6: element i in bits 6i … 6i + 5).
pub fn pack(bits: usize, codes: &[u8], out: &mut Vec<u8>) {
    if bits == 8 {
        out.extend_from_slice(codes);
        return;
    }
    let mut acc = 0u32;
    let mut held = 0;
    for &c in codes {
        acc |= ((c as u32) & ((1 << bits) - 1)) << held;
        held += bits;
        while held >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
    debug_assert_eq!(held, 0, "codes do not fill whole bytes");
}

/// The codes packed by [`pack`].
pub fn unpack(bits: usize, bytes: &[u8]) -> Vec<u8> {
    if bits == 8 {
        return bytes.to_vec();
    }
    let mut codes = Vec::with_capacity(bytes.len() * 8 / bits);
    let mut acc = 0u32;
    let mut held = 0;
    for &b in bytes {
        acc |= (b as u32) << held;
        held += 8;
        while held >= bits {
            codes.push((acc & ((1 << bits) - 1)) as u8);
            acc >>= bits;
            held -= bits;
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::super::e8m0::E8M0_NAN;
    use super::*;

    #[test]
    fn packing_puts_the_first_element_in_the_low_bits() {
        let mut out = Vec::new();
        pack(4, &[0x1, 0x2, 0x3, 0x4], &mut out);
        assert_eq!(out, vec![0x21, 0x43]);
        out.clear();
        pack(6, &[0x3f, 0x00, 0x15, 0x2a], &mut out);
        assert_eq!(out, vec![0x3f, 0x50, 0xa9]);
        assert_eq!(unpack(6, &out), vec![0x3f, 0x00, 0x15, 0x2a]);
    }

    #[test]
    fn floor_rule_saturates_and_zero_blocks_are_zero() {
        // amax 7 → X = 1 under floor; 7 saturates to E2M1's 6.
        let mut x = vec![0.0f32; 32];
        x[0] = 7.0;
        x[1] = -1.25;
        let b = encode(MXFP4, ScaleRule::Floor, ElementRounding::Even, &x);
        assert_eq!(b.len(), 17);
        assert_eq!(b[0], 127);
        assert_eq!(b[1], 0x7 | (0xa << 4)); // 6, then −1 (the tie −1.25 → even)
        let back = decode_exact(MXFP4, &b);
        assert_eq!((back[0], back[1]), (6.0, -1.0));
        let zero = encode(
            MXFP8_E4M3,
            ScaleRule::Floor,
            ElementRounding::Even,
            &[0.0; 32],
        );
        assert_eq!(zero, vec![0; 33]);
        let ramp: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) / 16.0).collect();
        let b = encode(MXFP8_E4M3, ScaleRule::Floor, ElementRounding::Even, &ramp);
        let back = decode_exact(MXFP8_E4M3, &b);
        for (x, y) in ramp.iter().zip(&back) {
            assert!(
                (*x as f64 - y).abs() <= 1.0 / 64.0,
                "{x} → {y} (scale byte {})",
                b[0]
            );
        }
    }

    #[test]
    fn nan_or_infinity_makes_the_scale_nan() {
        let mut x = vec![1.0f32; 32];
        x[3] = f32::INFINITY;
        let b = encode(MXFP6_E3M2, ScaleRule::Floor, ElementRounding::Even, &x);
        assert_eq!(b[0], E8M0_NAN);
        assert!(b[1..].iter().all(|&c| c == 0));
        assert!(decode_exact(MXFP6_E3M2, &b).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn mxint8_is_a_fixed_point_byte() {
        let mut x = vec![0.0f32; 32];
        x[0] = 1.0; // amax 1 → floor: 2^0; 1.0 → 64
        x[1] = -0.5 / 64.0 * 3.0; // −1.5/64 → even: −2; away: −2
        x[2] = 0.5 / 64.0; // 0.5/64 → even: 0; away: 1
        let even = encode(MXINT8, ScaleRule::Floor, ElementRounding::Even, &x);
        let away = encode(MXINT8, ScaleRule::Floor, ElementRounding::Away, &x);
        assert_eq!(&even[..4], &[127, 64, (-2i8) as u8, 0]);
        assert_eq!(&away[..4], &[127, 64, (-2i8) as u8, 1]);
    }
}
