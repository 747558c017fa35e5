//! The choices an MX-style quantizer makes that its format leaves open: how a block's shared
//! power-of-two scale follows from its largest magnitude, and how values round to the element
//! grid. The reference codecs take them as options (`docs/formats.md`); a kernel declares the
//! ones its quantizer uses in its numeric contract, and is judged against the codec run with
//! the same.

use std::fmt;
use std::str::FromStr;

/// How a block's shared scale follows from its largest magnitude `amax`, for an element type
/// whose largest finite value is `max` = m · 2^emax with `mbits` mantissa bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScaleRule {
    /// OCP MX v1.0 §6.3: 2^(⌊log2 amax⌋ − emax); values past `max` then saturate.
    #[default]
    Floor,
    /// DeepGEMM's `ceil_to_ue8m0`: the smallest power of two ≥ amax / max (the quotient
    /// rounded to f32), kept within 2^-126 … 2^127.
    Ceil,
    /// torchao's `EVEN`: amax rounded to `mbits` mantissa bits (half up, in its f32 bits), then
    /// as `Floor`.
    Even,
    /// torchao's `RCEIL` (cuBLAS's MX scale): amax · f32(1 / max) rounded up to a power of two.
    Rceil,
}

impl ScaleRule {
    /// Every rule, in the order the command line lists them.
    pub const ALL: [ScaleRule; 4] = [
        ScaleRule::Floor,
        ScaleRule::Ceil,
        ScaleRule::Even,
        ScaleRule::Rceil,
    ];

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ScaleRule::Floor => "floor",
            ScaleRule::Ceil => "ceil",
            ScaleRule::Even => "even",
            ScaleRule::Rceil => "rceil",
        }
    }
}

impl fmt::Display for ScaleRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScaleRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScaleRule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!("unknown scale rule `{s}` (expected floor, ceil, even or rceil)")
            })
    }
}

/// Rounding of a value to an element's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElementRounding {
    /// To nearest, ties to even (IEEE; the OCP MX specification's reference).
    #[default]
    Even,
    /// To nearest, ties away from zero (microxcaling's default `nearest`).
    Away,
}

impl ElementRounding {
    /// Both roundings, in the order the command line lists them.
    pub const ALL: [ElementRounding; 2] = [ElementRounding::Even, ElementRounding::Away];

    /// Name on the command line and in protocol contracts.
    pub fn name(self) -> &'static str {
        match self {
            ElementRounding::Even => "even",
            ElementRounding::Away => "away",
        }
    }
}

impl fmt::Display for ElementRounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ElementRounding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ElementRounding::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown element rounding `{s}` (expected even or away)"))
    }
}
