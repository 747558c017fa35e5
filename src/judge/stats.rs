//! Summary statistics of an output against the oracle: reported, never judged.

use crosscheck_reference::rounding::ulp;
use crosscheck_spec::Precision;

use super::ElementCheck;

/// Normalised mean squared error and worst error in units in the last place.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Σ(out − oracle)² / Σ oracle², over elements where both are finite.
    pub nmse: f64,
    /// max |out − oracle| / ulp(oracle) in the output precision, over the same elements.
    pub max_ulp: f64,
}

impl Stats {
    /// Statistics of judged elements.
    pub fn of(checks: &[ElementCheck], precision: Precision) -> Stats {
        let finite = checks
            .iter()
            .filter(|c| c.value.is_finite() && c.oracle.is_finite() && !c.unwritten && !c.touched);
        let (mut err2, mut ref2, mut max_ulp) = (0.0f64, 0.0f64, 0.0f64);
        for c in finite {
            let e = c.value - c.oracle;
            err2 += e * e;
            ref2 += c.oracle * c.oracle;
            max_ulp = max_ulp.max(e.abs() / ulp(c.oracle, precision));
        }
        let nmse = if err2 == 0.0 { 0.0 } else { err2 / ref2 };
        Stats { nmse, max_ulp }
    }
}
