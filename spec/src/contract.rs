//! A kernel's declared numeric contract: the arithmetic the judge derives its bound from.

use crate::{ElementRounding, ScaleRule};

/// Precision in which products are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accumulator {
    /// binary16 accumulation (u = 2^-11).
    F16,
    /// binary32 accumulation (u = 2^-24).
    F32,
    /// binary64 accumulation (u = 2^-53).
    F64,
    /// Exact 32-bit integer accumulation (int8 products).
    I32,
}

impl Accumulator {
    /// Unit roundoff of the accumulator.
    pub fn unit_roundoff(self) -> f64 {
        match self {
            Accumulator::F16 => crate::pow2(-11),
            Accumulator::F32 => crate::pow2(-24),
            Accumulator::F64 => crate::pow2(-53),
            Accumulator::I32 => 0.0,
        }
    }

    /// Smallest positive normal of the accumulator: the absolute error an operation can make when
    /// its result underflows and subnormals are flushed.
    pub fn min_normal(self) -> f64 {
        match self {
            Accumulator::F16 => crate::pow2(-14),
            Accumulator::F32 => crate::pow2(-126),
            Accumulator::F64 => f64::MIN_POSITIVE,
            Accumulator::I32 => 0.0,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Accumulator::F16 => "f16",
            Accumulator::F32 => "f32",
            Accumulator::F64 => "f64",
            Accumulator::I32 => "i32",
        }
    }
}

/// How the kernel rounds its accumulated result to the storage precision of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputRounding {
    /// Round to nearest, ties to even.
    NearestEven,
    /// Either neighbour of the exact value (what WGSL allows for f32 → f16 conversions).
    Faithful,
}

/// Whether subnormal intermediate and output values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subnormals {
    /// IEEE gradual underflow.
    Preserved,
    /// Subnormal results may be flushed to zero (allowed by WGSL and many GPUs).
    MayFlush,
}

/// Accuracy of the elementary operations a kernel uses beyond +, −, ×, in ulps of the result
/// (1 ulp of y is at most 2u·|y|). Correctly rounded operations are 0.5 ulp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunctionAccuracy {
    /// exp(x) is within `exp_ulp + exp_ulp_per_unit·|x|` ulps.
    pub exp_ulp: f64,
    /// See `exp_ulp`.
    pub exp_ulp_per_unit: f64,
    /// x / y is within this many ulps.
    pub div_ulp: f64,
    /// The default attention scale 1/√d, when the kernel computes it, is within this many ulps.
    pub inverse_sqrt_ulp: f64,
    /// ln(x) is within `log_ulp` ulps plus an absolute `log_abs` (the log-sum-exp of MLA).
    pub log_ulp: f64,
    /// See `log_ulp`.
    pub log_abs: f64,
}

impl FunctionAccuracy {
    /// What WGSL guarantees for f32: exp 3 + 2|x| ulp, division 2.5 ulp, inverseSqrt 2 ulp,
    /// log 3 ulp outside [0.5, 2] and an absolute 2⁻²¹ inside (charged as both, everywhere).
    pub const WGSL: FunctionAccuracy = FunctionAccuracy {
        exp_ulp: 3.0,
        exp_ulp_per_unit: 2.0,
        div_ulp: 2.5,
        inverse_sqrt_ulp: 2.0,
        log_ulp: 3.0,
        log_abs: 1.0 / (1u32 << 21) as f64,
    };
}

/// How a kernel's softmax finds the row maximum it subtracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Softmax {
    /// The row's maximum is known before any exponential is taken (scores materialised or
    /// recomputed); no rescaling.
    TwoPass,
    /// Online softmax: the running maximum is updated once per tile of this many keys, and the
    /// running sum and output are rescaled by exp(old max − new max) each time.
    Online {
        /// Keys per tile.
        key_tile: usize,
    },
}

/// How each addition and multiplication in the accumulator rounds its exact result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arithmetic {
    /// Round to nearest (IEEE's default): each operation is off by at most u relatively.
    Nearest,
    /// Either neighbour of the exact result (what WGSL allows: "correctly rounded" there means
    /// rounded up or down): each operation is off by at most one ulp, 2u relatively.
    Faithful,
}

impl Arithmetic {
    /// How many unit roundoffs one operation may be off: 1 for nearest, 2 for faithful.
    pub fn factor(self) -> f64 {
        match self {
            Arithmetic::Nearest => 1.0,
            Arithmetic::Faithful => 2.0,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Arithmetic::Nearest => "nearest",
            Arithmetic::Faithful => "faithful",
        }
    }
}

/// What a kernel promises about NaN and infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonFinite {
    /// IEEE semantics: NaN propagates, infinities behave as IEEE says, overflow gives ±∞.
    Ieee,
    /// Finite math only (what WGSL lets an implementation assume; Ascend's saturation mode
    /// turns ∞ into the largest value and NaN into 0): a case whose inputs or exact results are
    /// not finite has no defined answer, so a difference there is a portability finding.
    FiniteOnly,
}

impl NonFinite {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            NonFinite::Ieee => "ieee",
            NonFinite::FiniteOnly => "finite-only",
        }
    }
}

/// What a kernel promises about its arithmetic. The judge holds it to exactly this.
/// Fields an op does not use (the softmax schedule for matmul) are ignored for that op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericContract {
    /// Precision of the running sums.
    pub accumulator: Accumulator,
    /// Rounding of the final value to the output's storage precision.
    pub output_rounding: OutputRounding,
    /// Subnormal handling.
    pub subnormals: Subnormals,
    /// Accuracy of exp, division and inverse square root.
    pub functions: FunctionAccuracy,
    /// How the softmax finds its maximum (attention).
    pub softmax: Softmax,
    /// Running the same case twice gives the same bits.
    pub deterministic: bool,
    /// A row of the output does not depend on how many other rows are computed in the same launch.
    pub batch_invariant: bool,
    /// Attention: a prefill computed in chunks against the cache (each chunk of queries with the
    /// keys up to its end) gives the same bits as one shot. Not promised unless declared.
    pub chunk_invariant: bool,
    /// A fused kernel (a quantized matmul) gives the bits of its unfused pipeline on the same
    /// backend: dequantize the operands, then the naive f32 matmul. Not promised unless declared.
    pub matches_unfused: bool,
    /// Attention and MLA: a decode row gives the same bits in a launch with more keys it cannot
    /// see, so however many splits a split-KV kernel cuts the launch's keys into (the split
    /// count FlashDecoding derives from the key count or the launch). Not promised unless
    /// declared.
    pub split_invariant: bool,
    /// Rounding of each operation in the accumulator.
    pub arithmetic: Arithmetic,
    /// NaN and infinity semantics.
    pub non_finite: NonFinite,
    /// MX quantizers: the rule that picks a block's shared scale (OCP's `floor` unless
    /// declared otherwise). The judge encodes with the declared rule and holds the kernel to
    /// its bytes. Ignored for every other op and format.
    pub scale_rule: ScaleRule,
    /// MX quantizers: how values round to the element grid (nearest even unless declared
    /// otherwise), judged as [`NumericContract::scale_rule`] is.
    pub element_rounding: ElementRounding,
}

impl NumericContract {
    /// IEEE f32 arithmetic as a plain CPU loop gives it: f32 sums rounded to nearest, IEEE NaN
    /// and infinity, outputs rounded to nearest even, subnormals kept, correctly rounded division, a libm `exp` within 1 ulp, 1/√d from a
    /// square root and a division (1.5 ulp), a two-pass softmax, the same bits on every run and
    /// rows independent of the launch (but no promise about chunked prefill). A starting point: override what a kernel does differently
    /// with struct update syntax (`NumericContract { accumulator: .., ..NumericContract::IEEE_F32 }`).
    pub const IEEE_F32: NumericContract = NumericContract {
        accumulator: Accumulator::F32,
        output_rounding: OutputRounding::NearestEven,
        subnormals: Subnormals::Preserved,
        functions: FunctionAccuracy {
            exp_ulp: 1.0,
            exp_ulp_per_unit: 0.0,
            div_ulp: 0.5,
            inverse_sqrt_ulp: 1.5,
            log_ulp: 1.0,
            log_abs: 0.0,
        },
        softmax: Softmax::TwoPass,
        deterministic: true,
        batch_invariant: true,
        chunk_invariant: false,
        matches_unfused: false,
        split_invariant: false,
        arithmetic: Arithmetic::Nearest,
        non_finite: NonFinite::Ieee,
        scale_rule: ScaleRule::Floor,
        element_rounding: ElementRounding::Even,
    };

    /// The relative error one accumulator operation may make: the accumulator's unit roundoff,
    /// doubled for faithful arithmetic.
    pub fn unit_roundoff(&self) -> f64 {
        self.accumulator.unit_roundoff() * self.arithmetic.factor()
    }
}
