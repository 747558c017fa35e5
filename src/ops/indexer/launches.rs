//! The smaller indexer launches the invariance checks compare bit for bit: the last query alone
//! and the second half of the queries. A query's logits depend only on its own rows of Q, the
//! weights and the ranges, so the cut keeps K (and its scales) whole.

use crosscheck_spec::{HostTensor, Problem, SparseIndexerProblem};

use crate::run::invariance::{Invariance, SubLaunch, row_ranges, span_name};

/// Trailing queries launched alone.
pub fn sub_launches(p: &SparseIndexerProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    row_ranges(p.len_q)
        .into_iter()
        .map(|rows| {
            let sub = SparseIndexerProblem {
                len_q: rows.len(),
                ..*p
            };
            let slice =
                |t: &HostTensor, per_query_shape: fn(&SparseIndexerProblem) -> Vec<usize>| {
                    let per = t.bytes.len() / p.len_q;
                    let shape = if t.shape.len() == 1 {
                        vec![per * rows.len()]
                    } else {
                        per_query_shape(&sub)
                    };
                    HostTensor {
                        shape,
                        layout: t.layout,
                        precision: t.precision,
                        bytes: t.bytes[rows.start * per..rows.end * per].to_vec(),
                    }
                };
            let mut sub_inputs = vec![slice(&inputs[0], SparseIndexerProblem::q_shape)];
            sub_inputs.extend(inputs[1..p.weights_input()].iter().cloned());
            sub_inputs.push(slice(
                &inputs[p.weights_input()],
                SparseIndexerProblem::weights_shape,
            ));
            sub_inputs.push(slice(&inputs[p.ranges_input()], |s| vec![s.len_q * 8]));
            SubLaunch {
                checks: Invariance::Batch,
                what: format!(
                    "a launch of {} alone (len_q = {})",
                    span_name("query", &rows),
                    sub.len_q
                ),
                problem: Problem::SparseIndexer(sub),
                inputs: sub_inputs,
                spans: vec![(0, rows.start * p.len_kv, rows.len() * p.len_kv)],
            }
        })
        .collect()
}
