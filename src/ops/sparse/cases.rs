//! Which sparse attention problems run: the default plan's few small fixed cases (a single
//! slot, MQA as DeepSeek runs it, GQA, MLA's 576/512 widths, more slots than keys, large
//! logits, a NaN key; FlashMLA's FP8 KV cache at DeepSeek's widths and scaled down), the random
//! problems of the property tests and the shrinker's steps.

use crosscheck_spec::{MLA_FP8_TILE, Problem, SparseAttentionProblem};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim};
use crate::generate::smaller::vary;

/// Fixed sparse cases. Every case's index lists hold −1 slots, duplicates and (from two lists
/// on) at least one list of nothing but −1 (`data::indices`). Dense kernels take the first
/// seven, FP8 ones the `.fp8` cases: DeepSeek V3.2's 656-byte rows, one and four 128-slices,
/// no rope, more than one 64-slot tile.
pub const FIXED: &[(&str, Distribution)] = &[
    ("q1k1h1g1d1v1t1", Distribution::Normal),
    ("q7k40h4g1d64v32t16", Distribution::Normal),
    ("q5k300h8g2d40v40t64", Distribution::Uniform),
    ("q3k130h4g1d192v128t40", Distribution::LargeLogits),
    ("q3k64h2g1d576v512t33", Distribution::Normal),
    ("q6k20h2g2d16v16t70", Distribution::NearUniform),
    ("q5k33h2g1d16v8t20", Distribution::NanKey),
    ("q3k64h2g1d576v512t33.fp8", Distribution::Normal),
    ("q5k40h4g1d144v128t20.fp8", Distribution::Uniform),
    ("q4k50h2g2d136v128t70.fp8", Distribution::LargeLogits),
    ("q3k30h2g1d256v256t16.fp8", Distribution::NanKey),
];

/// Multiply-adds a sparse case may cost (len_q·heads_q·topk·(d_qk + d_v)), so that a property's
/// cases stay fast on a software GPU; larger draws are rejected and redrawn.
pub const SPARSE_WORK_BUDGET: usize = 8_000_000;

/// Head widths (d_qk, d_v ≤ d_qk): equal widths, MLA's 576/512 as DeepSeek Sparse Attention
/// runs it, or any pair.
fn head_dims() -> impl Strategy<Value = (usize, usize)> {
    let common = [1usize, 2, 3, 8, 16, 32, 40, 64, 128];
    prop_oneof![
        4 => select(common.to_vec()).prop_map(|d| (d, d)),
        1 => Just((576usize, 512usize)),
        2 => (dim(256), dim(256)).prop_map(|(a, b)| (a.max(b), a.min(b))),
    ]
}

/// FP8 head widths: d_v in whole 128-slices (DeepSeek's 512 now and then), then 0 to 64 rope
/// columns.
fn fp8_head_dims() -> impl Strategy<Value = (usize, usize)> {
    let rope = select(vec![0usize, 1, 8, 16, 64]);
    prop_oneof![
        1 => Just((576usize, 512usize)),
        3 => (select(vec![1usize, 2, 4]), rope)
            .prop_map(|(t, r)| (t * MLA_FP8_TILE + r, t * MLA_FP8_TILE)),
    ]
}

/// Sparse problems: len_q in 1..=40, len_kv and topk in 1..=[`MAX_DIM`] (topk may exceed len_kv:
/// lists then repeat keys), heads_kv 1 or 2 with heads_q / heads_kv in {1, 2, 4, 16},
/// [`head_dims`] (or [`fp8_head_dims`] and the FP8 layout when `fp8`), the default or a custom
/// scale; at most [`SPARSE_WORK_BUDGET`].
pub fn problems(fp8: bool) -> impl Strategy<Value = SparseAttentionProblem> {
    let widths = if fp8 {
        fp8_head_dims().boxed()
    } else {
        head_dims().boxed()
    };
    let heads_kv = prop_oneof![3 => Just(1usize), 1 => Just(2usize)];
    let ratio = select(vec![1usize, 2, 4, 16]);
    let scale = prop_oneof![3 => Just(None), 1 => select(vec![0.5f32, 0.125, 2.0]).prop_map(Some)];
    (
        dim(40),
        dim(MAX_DIM),
        heads_kv,
        ratio,
        widths,
        dim(MAX_DIM),
        scale,
    )
        .prop_map(
            move |(len_q, len_kv, heads_kv, ratio, (d_qk, d_v), topk, scale)| {
                SparseAttentionProblem {
                    len_q,
                    len_kv,
                    heads_q: heads_kv * ratio,
                    heads_kv,
                    d_qk,
                    d_v,
                    topk,
                    scale_bits: scale.map(f32::to_bits),
                    fp8,
                }
            },
        )
        .prop_filter("sparse work budget", |p| {
            Problem::Sparse(*p).work() <= SPARSE_WORK_BUDGET
        })
}

/// Smaller sparse problems: fewer queries, keys, heads or slots, narrower heads (FP8: whole
/// 128-slices fewer, or no rope), no custom scale.
pub fn smaller(p: &SparseAttentionProblem) -> Vec<SparseAttentionProblem> {
    let ratio = p.heads_q / p.heads_kv.max(1);
    let mut out = Vec::new();
    out.extend(vary(p, 1, |p| p.len_q, |p, v| p.len_q = v));
    out.extend(vary(p, 1, |p| p.len_kv, |p, v| p.len_kv = v));
    out.extend(vary(p, 1, |p| p.topk, |p, v| p.topk = v));
    out.extend(vary(
        p,
        1,
        |p| p.heads_kv,
        |p, v| {
            p.heads_kv = v;
            p.heads_q = v * ratio;
        },
    ));
    out.extend(vary(p, 1, |_| ratio, |p, v| p.heads_q = p.heads_kv * v));
    if p.fp8 {
        let rope = p.d_qk - p.d_v;
        out.extend(vary(
            p,
            MLA_FP8_TILE,
            |p| p.d_v,
            |p, v| {
                p.d_v = v;
                p.d_qk = v + rope;
            },
        ));
        if rope > 0 {
            out.push(SparseAttentionProblem { d_qk: p.d_v, ..*p });
            out.extend(vary(p, 1, |_| rope, |p, v| p.d_qk = p.d_v + v));
        }
    } else {
        out.extend(vary(
            p,
            1,
            |p| p.d_qk,
            |p, v| {
                p.d_qk = v;
                p.d_v = p.d_v.min(v);
            },
        ));
        out.extend(vary(p, 1, |p| p.d_v, |p, v| p.d_v = v));
    }
    if p.scale_bits.is_some() {
        out.push(SparseAttentionProblem {
            scale_bits: None,
            ..*p
        });
    }
    out
}
