//! What both CPU attention kernels share: the keys a query row sees, the scale, and running a
//! per-row function over every (batch, head, query) row on rayon threads.

use std::ops::Range;

use rayon::prelude::*;

use crosscheck_spec::{AttentionProblem, HostTensor};

/// One query row's inputs.
pub struct Row<'a> {
    /// The query (d_qk values).
    pub q: &'a [f32],
    /// All keys of the row's kv head (len_kv × d_qk, row-major).
    pub k: &'a [f32],
    /// All values of the row's kv head (len_kv × d_v, row-major).
    pub v: &'a [f32],
    /// The keys the row sees.
    pub keys: Range<usize>,
    /// Score scale.
    pub scale: f32,
    /// Width of queries and keys.
    pub d_qk: usize,
    /// Width of values.
    pub d_v: usize,
}

/// The keys query `i` sees: causal and window masks aligned to the end of the key sequence.
pub fn visible_keys(p: &AttentionProblem, i: usize) -> Range<usize> {
    let position = i as i64 + p.len_kv as i64 - p.len_q as i64;
    let clamp = |x: i64| x.clamp(0, p.len_kv as i64) as usize;
    let end = if p.causal {
        clamp(position + 1)
    } else {
        p.len_kv
    };
    let start = p.window.map_or(0, |w| clamp(position - w as i64 + 1));
    start..end.max(start)
}

/// Runs `row_fn` for every query row, writing each row's d_v outputs (f32, row-major O).
pub fn for_each_row(
    p: &AttentionProblem,
    q: &HostTensor,
    k: &HostTensor,
    v: &HostTensor,
    row_fn: fn(&Row, &mut [f32]),
) -> Vec<f32> {
    let (qv, kv, vv) = (q.to_f32(), k.to_f32(), v.to_f32());
    let scale = p
        .custom_scale()
        .unwrap_or_else(|| 1.0 / (p.d_qk as f32).sqrt());
    let mut out = vec![0.0f32; p.batch * p.heads_q * p.len_q * p.d_v];
    out.par_chunks_mut(p.d_v).enumerate().for_each(|(r, o)| {
        let (bh, i) = (r / p.len_q, r % p.len_q);
        let (b, h) = (bh / p.heads_q, bh % p.heads_q);
        let kv_head = (b * p.heads_kv + p.kv_head(h)) * p.len_kv;
        let row = Row {
            q: &qv[r * p.d_qk..(r + 1) * p.d_qk],
            k: &kv[kv_head * p.d_qk..(kv_head + p.len_kv) * p.d_qk],
            v: &vv[kv_head * p.d_v..(kv_head + p.len_kv) * p.d_v],
            keys: visible_keys(p, i),
            scale,
            d_qk: p.d_qk,
            d_v: p.d_v,
        };
        row_fn(&row, o);
    });
    out
}

/// scale · q·k_j, summed in f32.
pub fn score(row: &Row, j: usize) -> f32 {
    let k = &row.k[j * row.d_qk..(j + 1) * row.d_qk];
    row.q.iter().zip(k).fold(0.0f32, |acc, (a, b)| acc + a * b) * row.scale
}
