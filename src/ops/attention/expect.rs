//! What correct attention produces: the f64 oracle's rows, each with the bound its contract
//! allows, and the memory a case of it needs.

use crosscheck_reference as reference;
use crosscheck_spec::{AttentionProblem, HostTensor, NumericContract, Variant};

use crate::case::Case;
use crate::judge::bound;
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle's values for `p` and, row by row, the error `contract` allows.
pub fn expectation(
    case: &Case,
    p: &AttentionProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let mut allowed_error = vec![0.0; case.problem.output_len()];
    let values = reference::attention::attention(p, &inputs[0], &inputs[1], &inputs[2], |row| {
        let slot = &mut allowed_error[row.output_offset..row.output_offset + p.d_v];
        bound::attention(contract, p, row, slot);
    });
    Expectation {
        tier: case.tier(),
        values,
        allowed_error,
        untouched: Vec::new(),
    }
}

/// Q, K and V, the output, and one query row's keys, scores, weights and values (twice).
pub fn footprint(p: &AttentionProblem, variant: Variant, output_size: u128) -> Footprint {
    let element = variant.precision.bytes() as u128;
    let values = [
        product(&[p.batch, p.heads_q, p.len_q, p.d_qk]),
        product(&[p.batch, p.heads_kv, p.len_kv, p.d_qk]),
        product(&[p.batch, p.heads_kv, p.len_kv, p.d_v]),
    ]
    .into_iter()
    .fold(0, u128::saturating_add);
    Footprint {
        values,
        stored: values.saturating_mul(element),
        outputs: product(&[p.batch, p.heads_q, p.len_q, p.d_v]),
        output_size,
        scratch: product(&[p.len_kv, p.d_v.saturating_add(4), 16]),
    }
}
