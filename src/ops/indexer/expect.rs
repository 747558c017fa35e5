//! What correct indexer logits are: the f64 oracle's values with the indexer bound per logit,
//! and the memory a case needs.

use crosscheck_reference as reference;
use crosscheck_spec::{HostTensor, NumericContract, SparseIndexerProblem, Variant};

use super::bound;
use crate::case::Case;
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle's logits for `p` and the error `contract` allows each. The ranges come from the
/// generator, which writes only valid ones.
pub fn expectation(
    case: &Case,
    p: &SparseIndexerProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let ranges = p
        .ranges(&inputs[p.ranges_input()].bytes)
        .expect("harness bug: generated ranges are valid");
    let oracle = reference::indexer::indexer(p, inputs, &ranges);
    Expectation {
        untouched: Vec::new(),
        tier: case.tier(),
        allowed_error: bound::indexer(contract, p, &oracle.gauge, &oracle.weight_gauge),
        values: oracle.values,
    }
}

/// Q, K, the scales, weights and ranges, the f32 logits, and the oracle's two gauges.
pub fn footprint(p: &SparseIndexerProblem, variant: Variant) -> Footprint {
    let element = if p.fp8 {
        1
    } else {
        variant.precision.bytes() as u128
    };
    let values = product(&p.q_shape()).saturating_add(product(&p.k_shape()));
    let side = product(&p.weights_shape())
        .saturating_add(p.len_kv as u128)
        .saturating_add(2 * p.len_q as u128);
    let outputs = product(&p.out_shape());
    Footprint {
        values: values.saturating_add(side),
        stored: values
            .saturating_mul(element)
            .saturating_add(side.saturating_mul(4)),
        outputs,
        output_size: 4,
        scratch: outputs.saturating_mul(16),
    }
}
