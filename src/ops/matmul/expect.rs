//! What a correct matmul produces: the f64 oracle's values with the contract's bound (or, in
//! the exact tier, no room at all), and the memory a case of it needs.

use crosscheck_reference as reference;
use crosscheck_spec::{HostTensor, MatmulProblem, NumericContract, Variant};

use super::data::exact_limit;
use crate::case::Case;
use crate::judge::{Tier, bound};
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle's values for `p` and the error `contract` allows.
pub fn expectation(
    case: &Case,
    p: &MatmulProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let tier = case.tier();
    let r = reference::matmul(p, &inputs[0], &inputs[1]);
    let allowed_error = if tier == Tier::Exact {
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
        untouched: Vec::new(),
    }
}

/// Inputs, outputs and the oracle's scratch (B as f64 rows, the kernel's f32 columns).
pub fn footprint(p: &MatmulProblem, variant: Variant, output_size: u128) -> Footprint {
    let element = variant.precision.bytes() as u128;
    let b_count = if p.b_broadcast { 1 } else { p.batch };
    let values = product(&[p.batch, p.m, p.k]).saturating_add(product(&[b_count, p.k, p.n]));
    Footprint {
        values,
        stored: values.saturating_mul(element),
        outputs: product(&[p.batch, p.m, p.n]),
        output_size,
        scratch: product(&[p.k, p.n]).saturating_mul(12),
    }
}
