//! The E8M0 block scale of the OCP MX formats (an unsigned power of two, bias 127: byte b is
//! 2^(b − 127); 0xFF is NaN; there is no zero and no sign) and the rules that pick a block's
//! scale from its largest magnitude.

use crate::rounding::exponent_of;

/// The E8M0 NaN byte.
pub const E8M0_NAN: u8 = 0xff;

/// Value of an E8M0 byte as f32: 2^(b − 127), 2^-127 being the f32 subnormal 0x0040_0000;
/// 0xFF is NaN.
pub fn e8m0_to_f32(b: u8) -> f32 {
    match b {
        E8M0_NAN => f32::NAN,
        0 => f32::from_bits(0x0040_0000),
        _ => f32::from_bits((b as u32) << 23),
    }
}

/// Exponent of an E8M0 byte (b − 127), or `None` for NaN.
pub fn e8m0_exponent(b: u8) -> Option<i32> {
    (b != E8M0_NAN).then_some(b as i32 - 127)
}

pub use crosscheck_spec::ScaleRule;

/// What a scale rule needs to know of the element type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementRange {
    /// Exponent of the largest finite element.
    pub emax: i32,
    /// Mantissa bits of the element.
    pub mbits: u32,
    /// Largest finite element.
    pub max: f32,
}

/// The E8M0 scale byte of a block whose largest magnitude is `amax` (NaN when any element is
/// NaN). A NaN or infinite `amax` gives the NaN scale under every rule. A zero block gets the
/// smallest scale, 2^-127 (byte 0), except under `Ceil`, whose clamp makes it 2^-126 (byte 1).
/// Exponents below −127 are raised to −127; none of the rules can exceed 127 from a finite
/// f32 amax except `Even` (amax rounding up to ∞: NaN, as torchao) and `Rceil` (a quotient
/// above 2^127: NaN, as torchao).
pub fn scale_byte(amax: f32, element: ElementRange, rule: ScaleRule) -> u8 {
    if !amax.is_finite() {
        return E8M0_NAN;
    }
    let amax = amax.abs();
    match rule {
        ScaleRule::Floor => floor_rule(amax, element.emax),
        ScaleRule::Even => {
            let half = 1u32 << (23 - element.mbits - 1);
            let rounded = f32::from_bits((amax.to_bits() + half) & 0x7f80_0000);
            if rounded.is_infinite() {
                return E8M0_NAN;
            }
            floor_rule(rounded, element.emax)
        }
        ScaleRule::Ceil => {
            let q = (amax / element.max).to_bits();
            let exp = ((q >> 23) & 0xff) + u32::from(q & 0x7f_ffff != 0);
            exp.clamp(1, 254) as u8
        }
        ScaleRule::Rceil => {
            let q = (amax * (1.0f32 / element.max)).to_bits();
            let (field, mantissa) = ((q >> 23) & 0xff, q & 0x7f_ffff);
            let up = if field == 0 {
                mantissa > 0x40_0000
            } else {
                mantissa != 0
            };
            (field + u32::from(up)).min(255) as u8
        }
    }
}

/// 2^(⌊log2 amax⌋ − emax), clamped below at 2^-127; a zero amax gives 2^-127.
fn floor_rule(amax: f32, emax: i32) -> u8 {
    if amax == 0.0 {
        return 0;
    }
    let shared = exponent_of(amax as f64) - emax;
    (shared.clamp(-127, 127) + 127) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const E2M1: ElementRange = ElementRange {
        emax: 2,
        mbits: 1,
        max: 6.0,
    };

    #[test]
    fn bytes_decode_as_powers_of_two() {
        assert_eq!(e8m0_to_f32(127), 1.0);
        assert_eq!(e8m0_to_f32(0), crosscheck_spec::pow2_f32(-127));
        assert_eq!(e8m0_to_f32(254), crosscheck_spec::pow2(127) as f32);
        assert!(e8m0_to_f32(255).is_nan());
    }

    #[test]
    fn the_four_rules_differ_where_they_should() {
        // amax 7: floor → 2^(2−2) = 1; ceil: 7/6 → 2; even: 7 rounds (1 mantissa bit) to 8 → 2^1;
        // rceil: 7 · f32(1/6) → 2.
        let bytes: Vec<u8> = ScaleRule::ALL
            .iter()
            .map(|&r| scale_byte(7.0, E2M1, r))
            .collect();
        assert_eq!(bytes, vec![127, 128, 128, 128]);
        // amax 6: exactly the element maximum: every rule gives 1 except floor (2^(2−2) = 1 too).
        assert!(
            ScaleRule::ALL
                .iter()
                .all(|&r| scale_byte(6.0, E2M1, r) == 127)
        );
        assert_eq!(scale_byte(0.0, E2M1, ScaleRule::Floor), 0);
        assert_eq!(scale_byte(0.0, E2M1, ScaleRule::Ceil), 1);
        assert_eq!(scale_byte(f32::NAN, E2M1, ScaleRule::Rceil), E8M0_NAN);
        assert_eq!(scale_byte(f32::MAX, E2M1, ScaleRule::Even), E8M0_NAN);
        assert_eq!(scale_byte(1e-44, E2M1, ScaleRule::Floor), 0);
    }
}
