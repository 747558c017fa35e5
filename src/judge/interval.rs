//! The interval of acceptable outputs for one element, and where an output sits in it.

use crosscheck_reference::rounding::ulp;
use crosscheck_reference::{Rounding, round_to};
use crosscheck_spec::{NumericContract, OutputRounding, Precision, Subnormals};

/// The outputs a kernel honouring `contract` may produce for an element whose exact value is
/// `oracle`, when its accumulated value may be off by up to `error` before the final rounding to
/// `precision`: the rounded images of [oracle − error, oracle + error]. With round-to-nearest
/// that is [RN(lo), RN(hi)]; with faithful rounding [RD(lo), RU(hi)]; when subnormals may be
/// flushed and the interval reaches the subnormal range, zero is allowed too.
/// NaN and infinite oracles return themselves: only that value is acceptable.
pub fn allowed(
    oracle: f64,
    error: f64,
    precision: Precision,
    contract: &NumericContract,
) -> (f64, f64) {
    if !oracle.is_finite() {
        return (oracle, oracle);
    }
    let (lo, hi) = (oracle - error, oracle + error);
    let (mut lo, mut hi) = match contract.output_rounding {
        OutputRounding::NearestEven => (
            round_to(lo, precision, Rounding::NearestEven),
            round_to(hi, precision, Rounding::NearestEven),
        ),
        OutputRounding::Faithful => (
            round_to(lo, precision, Rounding::Down),
            round_to(hi, precision, Rounding::Up),
        ),
    };
    let tiny = precision.min_normal();
    if flushes(precision, contract) && lo < tiny && hi > -tiny {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    (lo, hi)
}

/// err/bound for one element. `err` is the smallest accumulated error that could have produced
/// `value` (its distance from `oracle` to the set of values that round to `value` under the
/// contract), and `bound` the allowed accumulated error: a correctly rounded output reads 0,
/// whatever the output precision. The ratio is ≤ 1 exactly when `inside` (the value lies in
/// [`allowed`]); NaN where a number was due, or a number where NaN was due, reads ∞.
pub fn ratio(
    value: f64,
    oracle: f64,
    error: f64,
    precision: Precision,
    contract: &NumericContract,
    inside: bool,
) -> f64 {
    if oracle.is_nan() || value.is_nan() {
        return if value.is_nan() && nan_allowed(oracle, error) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if value == oracle {
        return 0.0;
    }
    let (lo, hi) = preimage(value, precision, contract);
    let implied = (lo - oracle).max(oracle - hi).max(0.0);
    let r = if implied == 0.0 {
        0.0
    } else if error > 0.0 {
        implied / error
    } else {
        f64::INFINITY
    };
    // Ties at the ends of the preimage can make the two views disagree by a hair; the interval
    // decides, the ratio follows.
    if inside {
        r.min(1.0)
    } else {
        r.max(1.0 + f64::EPSILON)
    }
}

/// Whether NaN is a correct output: where the oracle is NaN, and where it is infinite with a
/// NaN allowance (the bound's mark for an element the kernel may compute as 0·∞).
pub fn nan_allowed(oracle: f64, error: f64) -> bool {
    oracle.is_nan() || (oracle.is_infinite() && error.is_nan())
}

/// Whether the contract lets subnormal outputs of `precision` become zero (raw bytes have no
/// subnormals: a byte is exact or wrong).
fn flushes(precision: Precision, contract: &NumericContract) -> bool {
    contract.subnormals == Subnormals::MayFlush && precision != Precision::U8
}

/// The values that the contract's final rounding may turn into `value`.
fn preimage(value: f64, precision: Precision, contract: &NumericContract) -> (f64, f64) {
    let max = precision.max_finite();
    let (below, above) = if value.is_infinite() {
        if value > 0.0 {
            (max, f64::INFINITY)
        } else {
            (f64::NEG_INFINITY, -max)
        }
    } else {
        // A step smaller than the spacing on either side lands on each neighbour when rounded away.
        let step = ulp(value, precision) / 8.0;
        (
            round_to(value - step, precision, Rounding::Down),
            round_to(value + step, precision, Rounding::Up),
        )
    };
    let (mut lo, mut hi) = match contract.output_rounding {
        OutputRounding::NearestEven => (
            halfway(below, value, precision),
            halfway(value, above, precision),
        ),
        OutputRounding::Faithful => (below, above),
    };
    let tiny = precision.min_normal();
    if flushes(precision, contract) && value == 0.0 {
        lo = lo.min(-tiny);
        hi = hi.max(tiny);
    }
    (lo, hi)
}

/// Where round-to-nearest switches from neighbour `a` to neighbour `b`: their midpoint, or next to
/// infinity halfway from the largest finite value to the next power of two.
fn halfway(a: f64, b: f64, precision: Precision) -> f64 {
    let max = precision.max_finite();
    let threshold = max + ulp(max, precision) / 2.0;
    if a == b {
        a
    } else if b == f64::INFINITY {
        threshold
    } else if a == f64::NEG_INFINITY {
        -threshold
    } else {
        (a + b) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Accumulator, FunctionAccuracy, Softmax};

    fn contract(output_rounding: OutputRounding, subnormals: Subnormals) -> NumericContract {
        NumericContract {
            accumulator: Accumulator::F32,
            output_rounding,
            subnormals,
            functions: FunctionAccuracy::WGSL,
            ..NumericContract::IEEE_F32
        }
    }

    /// Judges one element the way the judge does.
    fn judge(value: f64, oracle: f64, error: f64, p: Precision, c: &NumericContract) -> f64 {
        let (lo, hi) = allowed(oracle, error, p, c);
        ratio(value, oracle, error, p, c, lo <= value && value <= hi)
    }

    const RNE: NumericContract = NumericContract {
        accumulator: Accumulator::F32,
        output_rounding: OutputRounding::NearestEven,
        subnormals: Subnormals::Preserved,
        functions: FunctionAccuracy::WGSL,
        softmax: Softmax::TwoPass,
        ..NumericContract::IEEE_F32
    };

    #[test]
    fn exact_tier_allows_only_the_value() {
        assert_eq!(allowed(3.0, 0.0, Precision::BF16, &RNE), (3.0, 3.0));
        assert_eq!(judge(3.0, 3.0, 0.0, Precision::BF16, &RNE), 0.0);
        assert_eq!(
            judge(3.0078125, 3.0, 0.0, Precision::BF16, &RNE),
            f64::INFINITY
        );
    }

    #[test]
    fn correctly_rounded_outputs_use_no_headroom() {
        // 0.1 is not representable in f16; its nearest value must read 0, not "at the limit".
        let y = 0.1;
        let out = round_to(y, Precision::F16, Rounding::NearestEven);
        assert_eq!(judge(out, y, 1e-7, Precision::F16, &RNE), 0.0);
        // The other neighbour needs the accumulated value to cross the midpoint: far beyond 1e-7.
        let other = if out > y {
            round_to(y, Precision::F16, Rounding::Down)
        } else {
            round_to(y, Precision::F16, Rounding::Up)
        };
        assert!(judge(other, y, 1e-7, Precision::F16, &RNE) > 1.0);
    }

    #[test]
    fn nearest_excludes_the_far_neighbour_that_truncation_gives() {
        // 1 + 0.75 ulp(bf16) rounds to 1 + ulp under RNE; truncation would give 1.
        let ulp = (2.0f64).powi(-7);
        let y = 1.0 + 0.75 * ulp;
        assert_eq!(
            allowed(y, 1e-9, Precision::BF16, &RNE),
            (1.0 + ulp, 1.0 + ulp)
        );
        assert!(judge(1.0, y, 1e-9, Precision::BF16, &RNE) > 1.0);
        let f = contract(OutputRounding::Faithful, Subnormals::Preserved);
        assert_eq!(allowed(y, 1e-9, Precision::BF16, &f), (1.0, 1.0 + ulp));
        assert_eq!(judge(1.0, y, 1e-9, Precision::BF16, &f), 0.0);
    }

    #[test]
    fn flushing_contracts_allow_zero_near_underflow() {
        let tiny = Precision::F16.min_normal() / 4.0;
        let flush = contract(OutputRounding::NearestEven, Subnormals::MayFlush);
        assert!(judge(0.0, tiny, 0.0, Precision::F16, &RNE) > 1.0);
        assert_eq!(judge(0.0, tiny, 0.0, Precision::F16, &flush), 0.0);
    }

    #[test]
    fn bytes_are_never_flushed() {
        let flush = contract(OutputRounding::NearestEven, Subnormals::MayFlush);
        assert_eq!(allowed(30.0, 0.0, Precision::U8, &flush), (30.0, 30.0));
        assert_eq!(judge(0.0, 30.0, 0.0, Precision::U8, &flush), f64::INFINITY);
    }

    #[test]
    fn nan_must_meet_nan() {
        assert_eq!(judge(f64::NAN, f64::NAN, 1.0, Precision::F32, &RNE), 0.0);
        assert_eq!(
            judge(1.0, f64::NAN, 1.0, Precision::F32, &RNE),
            f64::INFINITY
        );
        assert_eq!(
            judge(f64::NAN, 1.0, 1.0, Precision::F32, &RNE),
            f64::INFINITY
        );
    }

    #[test]
    fn overflow_to_infinity_is_allowed_only_past_the_threshold() {
        let (_, hi) = allowed(65519.0, 2.0, Precision::F16, &RNE);
        assert_eq!(hi, f64::INFINITY);
        assert!(judge(f64::INFINITY, 65519.0, 2.0, Precision::F16, &RNE) <= 1.0);
        assert!(judge(f64::INFINITY, 60000.0, 2.0, Precision::F16, &RNE) > 1.0);
    }

    #[test]
    fn ratio_grows_with_the_implied_error() {
        let y = 1.0 + 0.3 * (2.0f64).powi(-10);
        let next = 1.0 + (2.0f64).powi(-10);
        // Reaching `next` needs the accumulated value past the midpoint: 0.2 ulp of error.
        let needed = 0.2 * (2.0f64).powi(-10);
        let r = judge(next, y, 2.0 * needed, Precision::F16, &RNE);
        assert!((r - 0.5).abs() < 1e-9, "{r}");
    }
}
