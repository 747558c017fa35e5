//! The smaller attention launches the invariance checks compare bit for bit: the last batch
//! entry alone, and the last queries alone (masks are aligned to the end, so a query keeps its
//! position).

use crosscheck_spec::{AttentionProblem, HostTensor, Problem};

use crate::run::invariance::{Invariance, SubLaunch, gather, row_ranges, span_name};

/// A batch entry and trailing queries launched alone.
pub fn sub_launches(p: &AttentionProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
    let mut subs = Vec::new();
    if p.batch > 1 {
        let entry = p.batch - 1;
        let sub = AttentionProblem { batch: 1, ..*p };
        let alone = |t: &HostTensor, heads: usize, rows: usize| {
            let mut shape = t.shape.clone();
            shape[0] = 1;
            gather(t, shape, entry * heads..(entry + 1) * heads, 0..rows)
        };
        let per_entry = p.heads_q * p.len_q * p.d_v;
        subs.push(SubLaunch {
            checks: Invariance::Batch,
            what: format!("a launch of batch entry {entry} alone (batch = 1)"),
            problem: Problem::Attention(sub),
            inputs: vec![
                alone(q, p.heads_q, p.len_q),
                alone(k, p.heads_kv, p.len_kv),
                alone(v, p.heads_kv, p.len_kv),
            ],
            spans: vec![(0, entry * per_entry, per_entry)],
        });
    }
    for rows in row_ranges(p.len_q) {
        let sub = AttentionProblem {
            len_q: rows.len(),
            ..*p
        };
        let matrices = p.batch * p.heads_q;
        subs.push(SubLaunch {
            checks: Invariance::Batch,
            what: format!(
                "a launch of {} alone (len_q = {}, same positions)",
                span_name("query", &rows),
                sub.len_q
            ),
            problem: Problem::Attention(sub),
            inputs: vec![
                gather(q, sub.q_shape(), 0..matrices, rows.clone()),
                k.clone(),
                v.clone(),
            ],
            spans: (0..matrices)
                .map(|bh| {
                    let full = (bh * p.len_q + rows.start) * p.d_v;
                    (bh * sub.len_q * p.d_v, full, sub.len_q * p.d_v)
                })
                .collect(),
        });
    }
    subs.extend(prefill_chunk(p, inputs));
    subs
}

/// The first chunk of a causal prefill as a chunked prefill computes it: the first half of the
/// queries, with only the keys up to the last of them in the cache (later keys are masked in
/// the full launch, so the chunk's rows are the same numbers). Only causal problems with at
/// least two queries have one.
fn prefill_chunk(p: &AttentionProblem, inputs: &[HostTensor]) -> Option<SubLaunch> {
    if !p.causal || p.len_q < 2 {
        return None;
    }
    let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
    let rows = 0..p.len_q / 2;
    // Query i sits at position i + len_kv − len_q; the chunk keeps that position with `keys`
    // keys, so keys − len_q' = len_kv − len_q.
    let keys = (rows.end + p.len_kv)
        .checked_sub(p.len_q)
        .filter(|&k| k > 0)?;
    let sub = AttentionProblem {
        len_q: rows.len(),
        len_kv: keys,
        ..*p
    };
    let matrices = p.batch * p.heads_q;
    let kv_matrices = p.batch * p.heads_kv;
    Some(SubLaunch {
        checks: Invariance::ChunkedPrefill,
        what: format!(
            "a prefill chunk of {} with the first {keys} keys (len_q = {}, len_kv = {keys})",
            span_name("query", &rows),
            sub.len_q
        ),
        problem: Problem::Attention(sub),
        inputs: vec![
            gather(q, sub.q_shape(), 0..matrices, rows.clone()),
            gather(k, sub.k_shape(), 0..kv_matrices, 0..keys),
            gather(v, sub.v_shape(), 0..kv_matrices, 0..keys),
        ],
        spans: (0..matrices)
            .map(|bh| {
                let full = bh * p.len_q * p.d_v;
                (bh * sub.len_q * p.d_v, full, sub.len_q * p.d_v)
            })
            .collect(),
    })
}
