//! What correct MLA decode produces: the f64 oracle's O and LSE, each element with the bound
//! its contract allows (attention's bound for O, the log-sum-exp bound for LSE), and the memory
//! a case needs.

use crosscheck_reference as reference;
use crosscheck_spec::{HostTensor, MlaProblem, NumericContract, Variant};

use crate::case::Case;
use crate::judge::bound;
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle's values for `p` and, row by row, the error `contract` allows: O's columns as an
/// attention row over the sequence's cached tokens, the LSE column by its own bound. Rows of
/// an empty sequence are judged exactly (zeros and +∞).
pub fn expectation(
    case: &Case,
    p: &MlaProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let mut allowed_error = vec![0.0; case.problem.output_len()];
    let values = reference::mla::mla(p, &inputs[0], &inputs[1], &inputs[2], &inputs[3], |r| {
        let slot = &mut allowed_error[r.output_offset..r.output_offset + p.d_latent + 1];
        if let (Some(dense), Some(row)) = (r.problem, r.row) {
            let (o, lse) = slot.split_at_mut(p.d_latent);
            bound::attention(contract, dense, row, o);
            lse[0] = bound::log_sum_exp(contract, dense, row, r.lse);
        }
    });
    Expectation {
        untouched: Vec::new(),
        tier: case.tier(),
        values,
        allowed_error,
    }
}

/// Q and the page pool, the output, and one sequence's gathered K and V plus a row's internals.
pub fn footprint(p: &MlaProblem, variant: Variant) -> Footprint {
    let element = variant.precision.bytes() as u128;
    let q = product(&p.q_shape());
    let kv = product(&[p.pool(), p.page, p.d_qk()]);
    let kv_stored = if p.fp8 {
        product(&p.kv_shape())
    } else {
        kv.saturating_mul(element)
    };
    let tokens = p.blocks.saturating_mul(p.page);
    Footprint {
        values: q.saturating_add(kv),
        stored: q
            .saturating_mul(element)
            .saturating_add(kv_stored)
            .saturating_add(product(&[p.batch, p.blocks + 1, 4])),
        outputs: product(&p.out_shape()),
        output_size: 4,
        scratch: product(&[tokens, p.d_qk() + p.d_latent + 4, 16]),
    }
}
