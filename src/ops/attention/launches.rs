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
    subs.extend(longer_cache(p, inputs));
    subs
}

/// Keys put before a decode's cache in [`longer_cache`]: a multiple of every key tile and split
/// that counts from a row's first visible key (16, 32, 64, 256), so such kernels see the
/// row's keys cut exactly as before.
const SHIFT_UNIT: usize = 256;

/// A decode (one query) again in a launch with more keys, put before its cache and hidden from
/// it by a window (its own, or one of len_kv): the row sees the same keys, while a split-KV
/// kernel whose splits follow the launch's key count (FlashDecoding's) cuts them differently.
fn longer_cache(p: &AttentionProblem, inputs: &[HostTensor]) -> Option<SubLaunch> {
    if p.len_q != 1 || p.len_kv == 0 {
        return None;
    }
    let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
    let extra = SHIFT_UNIT;
    let sub = AttentionProblem {
        len_kv: p.len_kv + extra,
        window: Some(p.window.unwrap_or(p.len_kv).min(p.len_kv)),
        ..*p
    };
    let matrices = p.batch * p.heads_q;
    let kv_matrices = p.batch * p.heads_kv;
    Some(SubLaunch {
        checks: Invariance::SplitCount,
        what: format!(
            "the decode row behind {extra} more keys it cannot see (len_kv = {}, window {})",
            sub.len_kv,
            sub.window.unwrap_or(0)
        ),
        problem: Problem::Attention(sub),
        inputs: vec![
            q.clone(),
            shifted_rows(k, sub.k_shape(), kv_matrices, extra),
            shifted_rows(v, sub.v_shape(), kv_matrices, extra),
        ],
        spans: vec![(0, 0, matrices * p.d_v)],
    })
}

/// `t`'s innermost matrices behind `extra` rows (copies of their rows, cyclically), as a tensor
/// of shape `shape` in `t`'s layout: row r + extra is row r.
fn shifted_rows(t: &HostTensor, shape: Vec<usize>, outer: usize, extra: usize) -> HostTensor {
    let (old_rows, cols) = t.matrix_dims();
    let rows = old_rows + extra;
    let size = t.precision.bytes();
    let mut out = HostTensor {
        shape,
        layout: t.layout,
        precision: t.precision,
        bytes: Vec::new(),
    };
    out.bytes = vec![0; out.len() * size];
    for o in 0..outer {
        for r in 0..rows {
            for c in 0..cols {
                let from = t.offset(o, (r + old_rows - extra % old_rows) % old_rows, c) * size;
                let to = out.offset(o, r, c) * size;
                out.bytes[to..to + size].copy_from_slice(&t.bytes[from..from + size]);
            }
        }
    }
    out
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
