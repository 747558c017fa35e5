//! Which MLA problems run: the default plan's fixed cases (DeepSeek's 576/512 decode with
//! 64-token pages, speculative decoding with a causal mask, the FP8 cache, tiny and odd shapes),
//! the random problems of the property tests, and the smaller neighbours the shrinker tries.

use crosscheck_spec::{MLA_FP8_TILE, MlaProblem, Problem};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::smaller::vary;

/// Fixed MLA cases, kept few and small for the default matrix: DeepSeek's widths and pages at
/// up to 8 heads, two queries with the causal mask, the FP8 layout, and odd small shapes.
pub const FIXED: &[(&str, Distribution)] = &[
    ("b2h8q1l512r64p64m2", Distribution::Normal),
    ("b2h4q2l512r64p64m2.causal", Distribution::Uniform),
    ("b2h4q1l512r64p64m2.fp8", Distribution::Normal),
    ("b2h4q2l128r16p16m3.causal.fp8", Distribution::Uniform),
    ("b3h3q5l40r8p7m3.causal", Distribution::LargeLogits),
    ("b2h2q1l33r0p5m4.s0.25", Distribution::Normal),
];

/// Multiply-adds a random MLA case may cost, so that property cases stay fast on llvmpipe.
pub const MLA_WORK_BUDGET: usize = 1_000_000;

/// (d_latent, d_rope) pairs: DeepSeek's 512/64, scaled-down multiples of 128 (the FP8 layout
/// needs them), or anything small.
fn widths(fp8: bool) -> BoxedStrategy<(usize, usize)> {
    let tiles = select(vec![1usize, 2, 4]).prop_map(|t| t * MLA_FP8_TILE);
    let rope = select(vec![0usize, 1, 8, 16, 64]);
    if fp8 {
        prop_oneof![
            1 => Just((512usize, 64usize)),
            3 => (tiles, rope),
        ]
        .boxed()
    } else {
        prop_oneof![
            1 => Just((512usize, 64usize)),
            3 => (1usize..=160, rope),
        ]
        .boxed()
    }
}

/// Random MLA problems: batch 1..=3, heads 1..=16 (with 32 and 128 now and then), 1..=4
/// queries, pages of 1..=64 tokens (64 often), 1..=5 block-table entries, causal or not, the
/// default scale or a custom one; FP8 when `fp8`; at most [`MLA_WORK_BUDGET`].
pub fn problems(fp8: bool) -> impl Strategy<Value = MlaProblem> {
    let heads = prop_oneof![4 => 1usize..=16, 1 => select(vec![32usize, 128])];
    let page = prop_oneof![2 => Just(64usize), 3 => 1usize..=64];
    let scale = prop_oneof![3 => Just(None), 1 => select(vec![0.5f32, 0.125, 0.04]).prop_map(Some)];
    (
        1usize..=3,
        heads,
        1usize..=4,
        widths(fp8),
        page,
        1usize..=5,
        any::<bool>(),
        scale,
    )
        .prop_map(
            move |(batch, heads_q, seq_q, (d_latent, d_rope), page, blocks, causal, scale)| {
                MlaProblem {
                    batch,
                    heads_q,
                    seq_q,
                    d_latent,
                    d_rope,
                    page,
                    blocks,
                    causal,
                    fp8,
                    scale_bits: scale.map(f32::to_bits),
                }
            },
        )
        .prop_filter("mla work budget", |p| {
            Problem::Mla(*p).work() <= MLA_WORK_BUDGET
        })
}

/// Smaller MLA problems: fewer sequences, heads, queries, pages or tokens per page, narrower
/// latent and rope parts (in whole FP8 tiles), no causal mask, the default scale.
pub fn smaller(p: &MlaProblem) -> Vec<MlaProblem> {
    let mut out = Vec::new();
    out.extend(vary(p, 1, |p| p.batch, |p, v| p.batch = v));
    out.extend(vary(p, 1, |p| p.heads_q, |p, v| p.heads_q = v));
    out.extend(vary(p, 1, |p| p.seq_q, |p, v| p.seq_q = v));
    out.extend(vary(p, 1, |p| p.blocks, |p, v| p.blocks = v));
    out.extend(vary(p, 1, |p| p.page, |p, v| p.page = v));
    let step = if p.fp8 { MLA_FP8_TILE } else { 1 };
    out.extend(vary(p, step, |p| p.d_latent, |p, v| p.d_latent = v));
    if p.d_rope > 0 {
        out.push(MlaProblem { d_rope: 0, ..*p });
        out.extend(vary(p, 1, |p| p.d_rope, |p, v| p.d_rope = v));
    }
    if p.causal {
        out.push(MlaProblem {
            causal: false,
            ..*p
        });
    }
    if p.scale_bits.is_some() {
        out.push(MlaProblem {
            scale_bits: None,
            ..*p
        });
    }
    out
}
