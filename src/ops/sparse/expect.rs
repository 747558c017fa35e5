//! What correct sparse attention produces: the f64 oracle's rows, each with the attention bound
//! its contract allows over topk slots, and the memory a case of it needs.

use crosscheck_reference as reference;
use crosscheck_spec::{HostTensor, NumericContract, SparseAttentionProblem, Variant};

use crate::case::Case;
use crate::judge::bound::{self, RowGeometry};
use crate::run::expect::Expectation;
use crate::run::memory::{Footprint, product};

/// The oracle's values for `p` and, row by row, the error `contract` allows. The index lists
/// come from the generator, which writes only valid ones.
pub fn expectation(
    case: &Case,
    p: &SparseAttentionProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let indices = p
        .indices(&inputs[2].bytes)
        .expect("harness bug: generated index lists are valid");
    let geometry = RowGeometry {
        keys: p.topk,
        d_qk: p.d_qk,
        scale: reference::sparse::scale(p),
        custom_scale: p.custom_scale().is_some(),
    };
    let mut allowed_error = vec![0.0; case.problem.output_len()];
    let values = reference::sparse::sparse_attention(p, &inputs[0], &inputs[1], &indices, |row| {
        let slot = &mut allowed_error[row.output_offset..row.output_offset + p.d_v];
        bound::attention_row(contract, &geometry, row, slot);
    });
    Expectation {
        untouched: Vec::new(),
        tier: case.tier(),
        values,
        allowed_error,
    }
}

/// Q, KV (its stored bytes: the FP8 layout's, or the variant's), the index bytes, the output,
/// and one row's slots, scores, weights and values.
pub fn footprint(p: &SparseAttentionProblem, variant: Variant, output_size: u128) -> Footprint {
    let element = variant.precision.bytes() as u128;
    let (q, kv) = (
        product(&p.q_shape()),
        product(&[p.len_kv, p.heads_kv, p.d_qk]),
    );
    let kv_stored = if p.fp8 {
        product(&p.kv_shape())
    } else {
        kv.saturating_mul(element)
    };
    let index_bytes = product(&[p.len_q, p.heads_kv, p.topk, 4]);
    Footprint {
        values: q.saturating_add(kv).saturating_add(index_bytes / 4),
        stored: q
            .saturating_mul(element)
            .saturating_add(kv_stored)
            .saturating_add(index_bytes),
        outputs: product(&p.o_shape()),
        output_size,
        scratch: product(&[p.topk, p.d_v.saturating_add(4), 16]),
    }
}
