//! The smaller sparse launches the invariance checks compare bit for bit: the last query alone
//! and the second half of the queries. A query's output depends only on its own row of Q and its
//! own index lists, so the cut keeps KV whole and slices Q and the lists.

use crosscheck_spec::{HostTensor, Problem, SparseAttentionProblem};

use crate::run::invariance::{Invariance, SubLaunch, row_ranges, span_name};

/// Trailing queries launched alone.
pub fn sub_launches(p: &SparseAttentionProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (q, kv, indices) = (&inputs[0], &inputs[1], &inputs[2]);
    row_ranges(p.len_q)
        .into_iter()
        .map(|rows| {
            let sub = SparseAttentionProblem {
                len_q: rows.len(),
                ..*p
            };
            // Bytes per query of Q and of the index lists.
            let q_bytes = q.bytes.len() / p.len_q;
            let list_bytes = indices.bytes.len() / p.len_q;
            let slice = |t: &HostTensor, per: usize, shape: Vec<usize>| HostTensor {
                shape,
                layout: t.layout,
                precision: t.precision,
                bytes: t.bytes[rows.start * per..rows.end * per].to_vec(),
            };
            let per_query = p.heads_q * p.d_v;
            SubLaunch {
                checks: Invariance::Batch,
                what: format!(
                    "a launch of {} alone (len_q = {})",
                    span_name("query", &rows),
                    sub.len_q
                ),
                problem: Problem::Sparse(sub),
                inputs: vec![
                    slice(q, q_bytes, sub.q_shape()),
                    kv.clone(),
                    slice(indices, list_bytes, vec![sub.index_count() * 4]),
                ],
                spans: vec![(0, rows.start * per_query, rows.len() * per_query)],
            }
        })
        .collect()
}
