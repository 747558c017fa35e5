//! What a correct kernel must produce for a case: the oracle's values and, per element, the
//! error the declared contract allows before the final rounding.

use crosscheck_reference as reference;
use crosscheck_spec::{HostTensor, NumericContract, Problem};

use crate::case::Case;
use crate::generate::data::exact_limit;
use crate::judge::{Tier, bound};

/// Oracle values and allowances for one case.
pub struct Expectation {
    /// Tier that judges the case.
    pub tier: Tier,
    /// The oracle's value per output element.
    pub values: Vec<f64>,
    /// Allowed accumulated error per output element (zero in matmul's exact tier).
    pub allowed_error: Vec<f64>,
}

/// Computes the expectation of `case` from its stored `inputs`.
pub fn expectation(case: &Case, inputs: &[HostTensor], contract: &NumericContract) -> Expectation {
    let tier = case.tier();
    let exact = tier == Tier::Exact;
    match &case.problem {
        Problem::Matmul(p) => {
            let r = reference::matmul(p, &inputs[0], &inputs[1]);
            let allowed_error = if exact {
                let limit = exact_limit(case.variant.precision);
                let worst = r.gauge.iter().cloned().fold(0.0, f64::max);
                assert!(
                    worst <= limit,
                    "harness bug: exact-tier gauge {worst} exceeds {limit} for {case}"
                );
                vec![0.0; r.values.len()]
            } else {
                bound::matmul(contract, p.k, &r.gauge)
            };
            Expectation {
                tier,
                values: r.values,
                allowed_error,
            }
        }
        Problem::Attention(p) => {
            let mut allowed_error = vec![0.0; case.problem.output_len()];
            let values =
                reference::attention::attention(p, &inputs[0], &inputs[1], &inputs[2], |row| {
                    let slot = &mut allowed_error[row.output_offset..row.output_offset + p.d_v];
                    bound::attention(contract, p, row, slot);
                });
            Expectation {
                tier,
                values,
                allowed_error,
            }
        }
        // The format defines every bit: the reference codec's bytes (or f32 values), exactly.
        Problem::Quantize(p) => {
            let x = inputs[0].to_f32();
            let bytes = reference::quant::encode(p.format, p.rows, p.cols, &x);
            exact_values(bytes.into_iter().map(f64::from).collect())
        }
        Problem::Dequantize(p) => {
            let values = reference::quant::decode(p.format, p.rows, p.cols, &inputs[0].bytes);
            exact_values(values.into_iter().map(f64::from).collect())
        }
        Problem::QuantMatmul(p) => {
            let r = reference::qmatmul::qmatmul(p, &inputs[0], &inputs[1]);
            let allowed_error = bound::qmatmul(contract, p, &r.values, &r.gauge);
            Expectation {
                tier,
                values: r.values,
                allowed_error,
            }
        }
    }
}

/// An exact-tier expectation: these values and no room.
fn exact_values(values: Vec<f64>) -> Expectation {
    let allowed_error = vec![0.0; values.len()];
    Expectation {
        tier: Tier::Exact,
        values,
        allowed_error,
    }
}
