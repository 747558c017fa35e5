//! Which attention problems run: the default plan's fixed edge cases (single keys, MQA decode,
//! fully masked rows, MLA widths, windows, adversarial data), the random problems of the
//! property tests and the soak, and the smaller neighbours the shrinker tries.

use crosscheck_spec::{AttentionProblem, Problem};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim};
use crate::generate::smaller::vary;

/// Fixed attention cases: single key, decode with MQA, more queries than keys (fully masked
/// rows), multi-head latent attention widths, windows down to one key, a custom scale, tile
/// edges, and every adversarial distribution.
pub const FIXED: &[(&str, Distribution)] = &[
    ("b1h1g1q1k1d1v1", Distribution::Normal),
    ("b1h4g2q17k33d64v64.causal", Distribution::Normal),
    ("b2h8g1q1k300d128v128.causal", Distribution::Normal),
    ("b1h2g2q33k15d40v40.causal", Distribution::Uniform),
    ("b1h4g4q31k65d192v128", Distribution::Normal),
    ("b1h8g2q65k129d64v64.causal", Distribution::Uniform),
    ("b1h2g1q64k64d80v80.causal.w16", Distribution::LargeLogits),
    ("b1h1g1q16k16d96v96.causal.w1", Distribution::Normal),
    ("b1h2g1q20k40d64v32", Distribution::Peaked),
    ("b1h2g2q24k50d32v32.s0.5", Distribution::NearUniform),
    ("b1h2g1q17k33d64v64.causal", Distribution::ConstV),
    ("b1h2g1q17k33d16v16.causal", Distribution::NanKey),
    ("b1h2g1q17k33d16v16.w8", Distribution::NanValue),
    ("b1h2g1q40k70d16v16.causal", Distribution::NegInfKeys),
    ("b1h2g1q17k33d16v16.causal", Distribution::Specials),
    ("b1h2g2q9k40d32v24", Distribution::Specials),
];

/// Multiply-adds an attention case may cost (b·h_q·len_q·len_kv·(d_qk + d_v)), so that a
/// property's cases stay fast on a software GPU; larger draws are rejected and redrawn.
pub const ATTENTION_WORK_BUDGET: usize = 16_000_000;

/// Head widths: equal widths from the common set, multi-head latent attention's 192/128, or any
/// pair in 1..=256.
pub fn head_dims() -> impl Strategy<Value = (usize, usize)> {
    let common = [1usize, 2, 3, 8, 16, 32, 40, 64, 80, 96, 128, 256];
    prop_oneof![
        4 => select(common.to_vec()).prop_map(|d| (d, d)),
        1 => Just((192usize, 128usize)),
        2 => (dim(256), dim(256)),
    ]
}

/// Attention problems: batch 1..=3, heads_kv 1..=3 with heads_q / heads_kv in {1, 2, 4, 8}
/// (heads_kv 1 is MQA), len_q and len_kv in 1..=[`MAX_DIM`], [`head_dims`], causal or not, a
/// sliding window or not, the default scale or a custom one; at most [`ATTENTION_WORK_BUDGET`].
pub fn problems() -> impl Strategy<Value = AttentionProblem> {
    let batch = prop_oneof![3 => Just(1usize), 1 => 2usize..=3];
    let heads_kv = prop_oneof![3 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)];
    let ratio = select(vec![1usize, 2, 4, 8]);
    let window = prop_oneof![2 => Just(None), 1 => dim(MAX_DIM).prop_map(Some)];
    let scale = prop_oneof![3 => Just(None), 1 => select(vec![0.5f32, 0.125, 1.0, 0.3, 2.0]).prop_map(Some)];
    (
        batch,
        heads_kv,
        ratio,
        dim(MAX_DIM),
        dim(MAX_DIM),
        head_dims(),
        any::<bool>(),
        window,
        scale,
    )
        .prop_map(
            |(batch, heads_kv, ratio, len_q, len_kv, (d_qk, d_v), causal, window, scale)| {
                AttentionProblem {
                    batch,
                    heads_q: heads_kv * ratio,
                    heads_kv,
                    len_q,
                    len_kv,
                    d_qk,
                    d_v,
                    causal,
                    window,
                    scale_bits: scale.map(f32::to_bits),
                }
            },
        )
        .prop_filter("attention work budget", |p| {
            Problem::Attention(*p).work() <= ATTENTION_WORK_BUDGET
        })
}

/// Smaller attention problems: fewer batches, heads or positions, narrower heads, no mask flags.
pub fn smaller(p: &AttentionProblem) -> Vec<AttentionProblem> {
    let ratio = p.heads_q / p.heads_kv.max(1);
    let mut out = Vec::new();
    out.extend(vary(p, 1, |p| p.batch, |p, v| p.batch = v));
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
    out.extend(vary(p, 1, |p| p.len_q, |p, v| p.len_q = v));
    out.extend(vary(p, 1, |p| p.len_kv, |p, v| p.len_kv = v));
    out.extend(vary(p, 1, |p| p.d_qk, |p, v| p.d_qk = v));
    out.extend(vary(p, 1, |p| p.d_v, |p, v| p.d_v = v));
    if let Some(w) = p.window {
        out.push(AttentionProblem { window: None, ..*p });
        out.extend(vary(p, 1, |_| w, |p, v| p.window = Some(v)));
    }
    if p.causal {
        out.push(AttentionProblem {
            causal: false,
            ..*p
        });
    }
    if p.scale_bits.is_some() {
        out.push(AttentionProblem {
            scale_bits: None,
            ..*p
        });
    }
    out
}
