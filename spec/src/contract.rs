//! A kernel's declared numeric contract: the arithmetic the judge derives its bound from.

/// Precision in which products are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accumulator {
    /// binary16 accumulation (u = 2^-11).
    F16,
    /// binary32 accumulation (u = 2^-24).
    F32,
    /// binary64 accumulation (u = 2^-53).
    F64,
}

impl Accumulator {
    /// Unit roundoff of the accumulator.
    pub fn unit_roundoff(self) -> f64 {
        match self {
            Accumulator::F16 => (2.0f64).powi(-11),
            Accumulator::F32 => (2.0f64).powi(-24),
            Accumulator::F64 => (2.0f64).powi(-53),
        }
    }

    /// Smallest positive normal of the accumulator: the absolute error an operation can make when
    /// its result underflows and subnormals are flushed.
    pub fn min_normal(self) -> f64 {
        match self {
            Accumulator::F16 => (2.0f64).powi(-14),
            Accumulator::F32 => (2.0f64).powi(-126),
            Accumulator::F64 => f64::MIN_POSITIVE,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Accumulator::F16 => "f16",
            Accumulator::F32 => "f32",
            Accumulator::F64 => "f64",
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

/// What a kernel promises about its arithmetic. The judge holds it to exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumericContract {
    /// Precision of the running sums.
    pub accumulator: Accumulator,
    /// Rounding of the final value to the output's storage precision.
    pub output_rounding: OutputRounding,
    /// Subnormal handling.
    pub subnormals: Subnormals,
    /// Running the same case twice gives the same bits.
    pub deterministic: bool,
    /// A row of the output does not depend on how many other rows are computed in the same launch.
    pub batch_invariant: bool,
}
