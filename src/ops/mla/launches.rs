//! The smaller MLA launches the invariance checks compare bit for bit: the last batch entry
//! alone (its pages moved into a pool of its own, the table renumbered), the last query alone,
//! and for a causal multi-query decode the first half of the queries with each cache shortened
//! to end at the last of them, as a chunked prefill computes that chunk; and one larger launch,
//! the whole case with room for more tokens in every block table, for split invariance.

use crosscheck_spec::{HostTensor, MlaProblem, Problem};

use crate::run::invariance::{Invariance, SubLaunch, gather, span_name};

/// Little-endian i32 `i` of a byte tensor.
fn i32_at(t: &HostTensor, i: usize) -> i32 {
    i32::from_le_bytes(t.bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"))
}

/// A byte tensor of little-endian i32s.
fn i32_tensor(template: &HostTensor, values: &[i32]) -> HostTensor {
    HostTensor {
        shape: vec![4 * values.len()],
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..template.clone()
    }
}

/// A batch entry alone, the last query alone, a causal prefill's first chunk, and the case
/// with more room in its block table.
pub fn sub_launches(p: &MlaProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let mut subs = vec![more_room(p, inputs)];
    if p.batch > 1 {
        subs.push(entry_alone(p, inputs, p.batch - 1));
    }
    if p.seq_q > 1 {
        subs.push(queries(p, inputs, p.seq_q - 1..p.seq_q, false));
        if p.causal {
            subs.push(queries(p, inputs, 0..p.seq_q / 2, true));
        }
    }
    subs
}

/// Tokens of room [`more_room`] adds to every sequence's block table (rounded up to whole
/// pages): a multiple of every split and tile that counts from a row's first token (32, 64).
const ROOM_UNIT: usize = 256;

/// The whole case again with room for [`ROOM_UNIT`] more tokens in every sequence's block table
/// and the cache lengths unchanged: each new entry names a page of its own, a copy of the one
/// page the case's table never names (NaN wherever the inputs were generated). Every row sees
/// the same tokens, while a split-KV kernel whose split count follows the longest sequence the
/// launch allows (as FlashDecoding derives it from the launch) cuts them differently.
fn more_room(p: &MlaProblem, inputs: &[HostTensor]) -> SubLaunch {
    let (q, kv, table, lens) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    let extra = ROOM_UNIT.div_ceil(p.page);
    let sub = MlaProblem {
        blocks: p.blocks + extra,
        ..*p
    };
    let page_bytes = kv.bytes.len() / p.pool();
    let named: Vec<usize> = (0..p.batch * p.blocks)
        .map(|e| i32_at(table, e) as usize)
        .collect();
    let spare = (0..p.pool())
        .find(|page| !named.contains(page))
        .unwrap_or(0);
    let mut pool = kv.bytes.clone();
    for _ in 0..p.batch * extra {
        pool.extend_from_slice(&kv.bytes[spare * page_bytes..(spare + 1) * page_bytes]);
    }
    let mut entries = Vec::with_capacity(p.batch * sub.blocks);
    for b in 0..p.batch {
        entries.extend((0..p.blocks).map(|t| i32_at(table, b * p.blocks + t)));
        entries.extend((0..extra).map(|k| (p.pool() + b * extra + k) as i32));
    }
    SubLaunch {
        checks: Invariance::SplitCount,
        what: format!(
            "the case with {} more tokens of unused room in every block table (blocks = {})",
            extra * p.page,
            sub.blocks
        ),
        problem: Problem::Mla(sub),
        inputs: vec![
            q.clone(),
            HostTensor {
                shape: sub.kv_shape(),
                bytes: pool,
                ..kv.clone()
            },
            i32_tensor(table, &entries),
            lens.clone(),
        ],
        spans: vec![(0, 0, p.batch * p.heads_q * p.seq_q * (p.d_latent + 1))],
    }
}

/// Batch entry `entry` alone: its pages copied, in table order, into a pool of its own (plus
/// the one page a pool always has spare), the table renumbered to them, its cache length.
fn entry_alone(p: &MlaProblem, inputs: &[HostTensor], entry: usize) -> SubLaunch {
    let (q, kv, table, lens) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    let sub = MlaProblem { batch: 1, ..*p };
    let page_bytes = kv.bytes.len() / p.pool();
    let mut pool = Vec::with_capacity(sub.pool() * page_bytes);
    let pages: Vec<usize> = (0..p.blocks)
        .map(|t| i32_at(table, entry * p.blocks + t) as usize)
        .collect();
    for &page in pages.iter().chain(pages.first()) {
        pool.extend_from_slice(&kv.bytes[page * page_bytes..(page + 1) * page_bytes]);
    }
    let renumbered: Vec<i32> = (0..p.blocks as i32).collect();
    let per_entry = p.heads_q * p.seq_q * (p.d_latent + 1);
    SubLaunch {
        checks: Invariance::Batch,
        what: format!("a launch of batch entry {entry} alone (batch = 1, its pages renumbered)"),
        problem: Problem::Mla(sub),
        inputs: vec![
            gather(
                q,
                sub.q_shape(),
                entry * p.heads_q..(entry + 1) * p.heads_q,
                0..p.seq_q,
            ),
            HostTensor {
                shape: sub.kv_shape(),
                bytes: pool,
                ..kv.clone()
            },
            i32_tensor(table, &renumbered),
            i32_tensor(lens, &[i32_at(lens, entry)]),
        ],
        spans: vec![(0, entry * per_entry, per_entry)],
    }
}

/// Queries `rows` alone. Masks are aligned to the end of each sequence, so trailing queries
/// keep their positions as they are; a leading chunk (`chunk`) keeps them by shortening every
/// cache by the queries it leaves out (at least to 0: such a query sees nothing either way).
fn queries(
    p: &MlaProblem,
    inputs: &[HostTensor],
    rows: std::ops::Range<usize>,
    chunk: bool,
) -> SubLaunch {
    let (q, kv, table, lens) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    let sub = MlaProblem {
        seq_q: rows.len(),
        ..*p
    };
    let dropped = (p.seq_q - rows.end) as i32;
    let lens = if chunk {
        let shorter: Vec<i32> = (0..p.batch)
            .map(|b| (i32_at(lens, b) - dropped).max(0))
            .collect();
        i32_tensor(lens, &shorter)
    } else {
        lens.clone()
    };
    let width = p.d_latent + 1;
    let (checks, what) = if chunk {
        (
            Invariance::ChunkedPrefill,
            format!(
                "a prefill chunk of {} with each cache {dropped} tokens shorter (seq_q = {})",
                span_name("query", &rows),
                sub.seq_q
            ),
        )
    } else {
        (
            Invariance::Batch,
            format!(
                "a launch of {} alone (seq_q = {}, same positions)",
                span_name("query", &rows),
                sub.seq_q
            ),
        )
    };
    SubLaunch {
        checks,
        what,
        problem: Problem::Mla(sub),
        inputs: vec![
            gather(q, sub.q_shape(), 0..p.batch * p.heads_q, rows.clone()),
            kv.clone(),
            table.clone(),
            lens,
        ],
        spans: (0..p.batch * p.heads_q)
            .map(|bh| {
                let full = (bh * p.seq_q + rows.start) * width;
                (bh * sub.seq_q * width, full, sub.seq_q * width)
            })
            .collect(),
    }
}
