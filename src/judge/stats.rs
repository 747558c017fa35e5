//! Summary statistics of an output against the oracle, and of a quantized output against the
//! product of the unquantized inputs: reported, never judged.

use crosscheck_reference::rounding::ulp;
use crosscheck_spec::Precision;
use serde::{Deserialize, Serialize};

use super::ElementCheck;

/// Normalised mean squared error and worst error in units in the last place.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// For quantized matmuls: the output against the f64 product of the unquantized inputs.
    pub quantization: Option<QuantizationError>,
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
        Stats {
            quantization: None,
            nmse,
            max_ulp,
        }
    }
}

/// The error the user pays for quantizing: the kernel's output against the f64 product of the
/// inputs before quantization (the kernel's own error is judged against the exactly
/// dequantized product; this one is reported, never judged).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QuantizationError {
    /// max |out − y| over finite elements.
    #[serde(with = "crate::report::record::json_float")]
    pub max_abs: f64,
    /// max |out − y| / |y| over finite elements with y ≠ 0.
    #[serde(with = "crate::report::record::json_float")]
    pub max_rel: f64,
    /// Σ(out − y)² / Σ y².
    #[serde(with = "crate::report::record::json_float")]
    pub nmse: f64,
}

impl QuantizationError {
    /// The error of `output` against the unquantized product `exact`.
    pub fn of(output: &[f64], exact: &[f64]) -> QuantizationError {
        let mut e = QuantizationError::default();
        let (mut err2, mut ref2) = (0.0f64, 0.0f64);
        for (o, y) in output.iter().zip(exact) {
            if !(o.is_finite() && y.is_finite()) {
                continue;
            }
            let d = (o - y).abs();
            e.max_abs = e.max_abs.max(d);
            if *y != 0.0 {
                e.max_rel = e.max_rel.max(d / y.abs());
            }
            err2 += d * d;
            ref2 += y * y;
        }
        e.nmse = if err2 == 0.0 { 0.0 } else { err2 / ref2 };
        e
    }

    /// The larger of each measure.
    pub fn max(self, other: QuantizationError) -> QuantizationError {
        QuantizationError {
            max_abs: self.max_abs.max(other.max_abs),
            max_rel: self.max_rel.max(other.max_rel),
            nmse: self.nmse.max(other.nmse),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_error_measures_against_the_unquantized_product() {
        let e = QuantizationError::of(&[1.0, 2.5, f64::NAN], &[1.0, 2.0, 3.0]);
        assert_eq!(e.max_abs, 0.5);
        assert_eq!(e.max_rel, 0.25);
        assert_eq!(e.nmse, 0.25 / 5.0);
    }
}
