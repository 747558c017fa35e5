//! The judge: per element, the interval a correct kernel's output must fall in, derived from the
//! oracle and the kernel's declared contract; then a verdict with the worst err/bound ratio.

pub mod bound;
pub mod interval;
pub mod stats;
pub mod verdict;

use crosscheck_reference::codec;
use crosscheck_spec::{NumericContract, OutputBuffer};

use crate::guards::GuardReport;
use crate::run::expect::Expectation;
pub use verdict::{ElementCheck, Failure, Tier, Verdict};

/// How many of the worst elements a verdict keeps for reports.
pub const TOP_ELEMENTS: usize = 10;

/// Judges `output` against the oracle values of `expected`, allowing each element
/// `allowed_error[i]` of accumulated error before the final rounding to the output precision
/// (zero in the exact tier). A NaN allowance on an infinite oracle value means NaN is correct
/// there too (an infinite input reached through a weight the kernel may round to zero: 0·∞).
/// The elements `expected.untouched` lists must be left unwritten instead: one the kernel wrote
/// fails the case ([`Failure::Touched`]), one it left alone is not judged further.
pub fn judge(
    contract: &NumericContract,
    expected: &Expectation,
    output: &OutputBuffer,
    guards: &GuardReport,
) -> Verdict {
    let (tier, values, allowed_error) = (expected.tier, &expected.values, &expected.allowed_error);
    let precision = output.precision();
    let mut checks: Vec<ElementCheck> = Vec::with_capacity(values.len());
    let mut unwritten = guards.unwritten.iter().peekable();
    let mut untouched = expected.untouched.iter().peekable();
    for (index, element) in output.payload().chunks_exact(precision.bytes()).enumerate() {
        let value = codec::bits_to_f64(precision, precision.bits(element));
        // Raw bytes have no spare pattern: the caller lists only the bytes that held the poison
        // after two runs with different poisons (see `guards::unwritten_in_both`).
        let is_unwritten = unwritten.next_if_eq(&&index).is_some();
        if untouched.next_if_eq(&&index).is_some() {
            if !is_unwritten {
                checks.push(ElementCheck {
                    index,
                    value,
                    oracle: f64::NAN,
                    lo: f64::NAN,
                    hi: f64::NAN,
                    ratio: f64::INFINITY,
                    unwritten: false,
                    touched: true,
                });
            }
            continue;
        }
        let oracle = values[index];
        let (lo, hi) = interval::allowed(oracle, allowed_error[index], precision, contract);
        let inside = lo <= value && value <= hi
            || (value.is_nan() && interval::nan_allowed(oracle, allowed_error[index]));
        let ratio = if is_unwritten {
            f64::INFINITY
        } else {
            interval::ratio(
                value,
                oracle,
                allowed_error[index],
                precision,
                contract,
                inside,
            )
        };
        checks.push(ElementCheck {
            index,
            value,
            oracle,
            lo,
            hi,
            ratio,
            unwritten: is_unwritten,
            touched: false,
        });
    }
    let vacuous = vacuous_elements(values, allowed_error, &expected.untouched);
    let failing = checks.iter().filter(|c| c.ratio > 1.0).count();
    let mut failures = Vec::new();
    if !guards.out_of_bounds.is_empty() {
        failures.push(Failure::OutOfBounds {
            bytes: guards.out_of_bounds.len(),
            first_offset: guards.out_of_bounds[0],
        });
    }
    let unwritten_indices: Vec<usize> = checks
        .iter()
        .filter(|c| c.unwritten)
        .map(|c| c.index)
        .collect();
    if let Some(&first) = unwritten_indices.first() {
        failures.push(Failure::Unwritten {
            count: unwritten_indices.len(),
            first,
        });
    }
    let touched: Vec<usize> = checks
        .iter()
        .filter(|c| c.touched)
        .map(|c| c.index)
        .collect();
    if let Some(&first) = touched.first() {
        failures.push(Failure::Touched {
            count: touched.len(),
            first,
        });
    }
    let mismatched = checks
        .iter()
        .filter(|c| !c.unwritten && !c.touched && c.ratio > 1.0)
        .count();
    if mismatched > 0 {
        failures.push(Failure::Mismatch { count: mismatched });
    }
    let stats = stats::Stats::of(&checks, precision);
    // Worst first: by err/bound, then (among equal ratios, e.g. all zero) by the raw error.
    let mut top: Vec<ElementCheck> = checks;
    let raw = |c: &ElementCheck| {
        if c.value.is_nan() != c.oracle.is_nan() {
            f64::INFINITY
        } else {
            (c.value - c.oracle).abs()
        }
    };
    let worst_first = |a: &ElementCheck, b: &ElementCheck| {
        b.ratio
            .total_cmp(&a.ratio)
            .then(raw(b).total_cmp(&raw(a)))
            .then(a.index.cmp(&b.index))
    };
    if top.len() > TOP_ELEMENTS {
        top.select_nth_unstable_by(TOP_ELEMENTS - 1, worst_first);
        top.truncate(TOP_ELEMENTS);
    }
    top.sort_by(worst_first);
    Verdict {
        tier,
        failures,
        elements: values.len(),
        failing,
        worst_ratio: top.first().map_or(0.0, |c| c.ratio),
        stats,
        top,
        findings: vacuous.into_iter().collect(),
        notes: Vec::new(),
    }
}

/// A finding when the declared contract bounds nothing for some elements: a finite oracle value
/// with an infinite allowance (γ_n(u) is infinite once n·u ≥ 1, e.g. an f16 accumulator summing
/// 2048 or more products), where any finite output would pass unchecked.
fn vacuous_elements(values: &[f64], allowed_error: &[f64], untouched: &[usize]) -> Option<String> {
    let count = values
        .iter()
        .zip(allowed_error)
        .enumerate()
        .filter(|(i, (v, e))| {
            v.is_finite() && e.is_infinite() && untouched.binary_search(i).is_err()
        })
        .count();
    (count > 0).then(|| {
        format!(
            "vacuous bound: for {count} of {} elements the declared contract allows any value \
             (its error bound is infinite: n·u ≥ 1 for the declared accumulator, e.g. f16 summing \
             2048 or more products), so they were not checked",
            values.len()
        )
    })
}
