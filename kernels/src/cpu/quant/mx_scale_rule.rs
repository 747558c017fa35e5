//! The E8M0 scale byte of an MX block under each declared scale rule (`ScaleRule`): OCP's
//! floor, DeepGEMM's ceil, torchao's even and rceil, from the block's largest magnitude and
//! what the element type can hold (docs/formats.md, "The scale rules"). Bit operations on the
//! f32 amax, and one correctly rounded f32 division (ceil) or multiplication (rceil).

use crosscheck_spec::ScaleRule;

/// What a rule needs of the element type: its emax, mantissa bits and largest finite value.
#[derive(Debug, Clone, Copy)]
pub struct ElementLimits {
    /// Exponent of the largest finite element.
    pub emax: i32,
    /// Mantissa bits.
    pub mbits: u32,
    /// Largest finite element.
    pub max: f32,
}

/// ⌊log2 |x|⌋ of a finite non-zero f32, from its bits (subnormals included).
pub fn floor_log2(x: f32) -> i32 {
    let a = x.to_bits() & 0x7fff_ffff;
    if a >> 23 == 0 {
        31 - a.leading_zeros() as i32 - 149
    } else {
        (a >> 23) as i32 - 127
    }
}

/// The scale byte of a block whose largest magnitude is `amax` (NaN or ∞ when the block holds
/// one): 0xff for such a block under every rule; otherwise as `rule` picks it.
pub fn scale_byte(amax: f32, limits: ElementLimits, rule: ScaleRule) -> u8 {
    if !amax.is_finite() {
        return 0xff;
    }
    match rule {
        ScaleRule::Floor => floor_byte(amax, limits.emax),
        // amax rounded half up to the element's mantissa width, in its bits, then floor.
        ScaleRule::Even => {
            let half = 1u32 << (22 - limits.mbits);
            let rounded = f32::from_bits((amax.to_bits() + half) & 0x7f80_0000);
            if rounded.is_infinite() {
                0xff
            } else {
                floor_byte(rounded, limits.emax)
            }
        }
        // The smallest power of two at or above amax / max, within 2^-126 … 2^127.
        ScaleRule::Ceil => {
            let q = (amax / limits.max).to_bits();
            let up = u32::from(q & 0x7f_ffff != 0);
            (((q >> 23) & 0xff) + up).clamp(1, 254) as u8
        }
        // amax · f32(1 / max) rounded up to a power of two; a subnormal quotient counts from
        // 2^-127 (its top mantissa bit), and a quotient past 2^127 is NaN.
        ScaleRule::Rceil => {
            let q = (amax * (1.0 / limits.max)).to_bits();
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

/// 2^(⌊log2 amax⌋ − emax) within 2^-127 … 2^127; a zero block gets 2^-127.
fn floor_byte(amax: f32, emax: i32) -> u8 {
    if amax == 0.0 {
        return 0;
    }
    ((floor_log2(amax) - emax).clamp(-127, 127) + 127) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const E2M1: ElementLimits = ElementLimits {
        emax: 2,
        mbits: 1,
        max: 6.0,
    };

    /// amax 7 over E2M1 (max 6): floor keeps 2^0, the others go up to 2^1; a zero block is
    /// 2^-127 except under ceil's clamp (2^-126); a NaN block is NaN under every rule.
    #[test]
    fn the_rules_pick_their_bytes() {
        let rules = [
            ScaleRule::Floor,
            ScaleRule::Ceil,
            ScaleRule::Even,
            ScaleRule::Rceil,
        ];
        let at =
            |amax: f32| -> Vec<u8> { rules.iter().map(|&r| scale_byte(amax, E2M1, r)).collect() };
        assert_eq!(at(7.0), [127, 128, 128, 128]);
        assert_eq!(at(6.0), [127, 127, 127, 127]);
        assert_eq!(at(0.0), [0, 1, 0, 0]);
        assert_eq!(at(f32::NAN), [0xff; 4]);
    }
}
