//! Which MoE problems run: the default plan's fixed cases, the random problems of the property
//! tests and the soak (DeepSeek-like ones among them), and the smaller neighbours the shrinker
//! tries.

use crosscheck_spec::{
    Grouping, Layout, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem, Padding,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim, layout};
use crate::generate::smaller::vary;

/// Fixed contiguous cases: both groupings, both padding rules, both B layouts, alignments from
/// 1 (segments anywhere) to DeepGEMM's 128, 256 experts of which a few hold rows, and FP8 with
/// short last scale tiles along n and k.
pub const CONTIGUOUS_FIXED: &[(&str, Distribution)] = &[
    ("e4m64n33k65a16.idx.nt.zero", Distribution::Exact),
    ("e3m48n17k31a16.psum.nn.keep", Distribution::Exact),
    ("e5m40n7k9a1.idx.nt.keep", Distribution::Exact),
    ("e8m128n64k64a32.idx.nt.keep", Distribution::Uniform),
    ("e5m40n7k9a8.psum.nt.zero", Distribution::Normal),
    ("e2m96n31k129a32.idx.nn.zero", Distribution::Specials),
    ("e256m512n8k96a128.idx.nt.zero", Distribution::Normal),
    ("e16m192n16k40a16.psum.nt.keep", Distribution::Outliers),
    ("e4m256n130k300a128.idx.nt.zero.fp8", Distribution::Normal),
    ("e3m96n33k129a32.psum.nt.keep.fp8", Distribution::Outliers),
    ("e8m64n16k128a16.idx.nt.keep.fp8", Distribution::Exact),
];

/// Fixed masked cases: both padding rules and layouts, DeepGEMM-like decode shapes (32 experts
/// of 20 rows) and FP8.
pub const MASKED_FIXED: &[(&str, Distribution)] = &[
    ("e4m16n33k65.nt.zero", Distribution::Exact),
    ("e3m17n31k40.nn.keep", Distribution::Exact),
    ("e8m8n64k64.nt.keep", Distribution::Uniform),
    ("e2m65n17k33.nn.zero", Distribution::Normal),
    ("e6m5n7k129.nt.keep", Distribution::Specials),
    ("e32m20n16k64.nt.zero", Distribution::Normal),
    ("e4m32n130k300.nt.keep.fp8", Distribution::Normal),
    ("e6m20n33k129.nt.zero.fp8", Distribution::Outliers),
    ("e3m8n16k128.nt.keep.fp8", Distribution::Exact),
];

/// Fixed routed cases: DeepSeek's 256 experts with top-8 (scaled widths), GEMV-like single
/// tokens, both layouts, specials; FP8 with short last scale tiles along n and k, a 1-wide last
/// k tile, and the exact tier.
pub const ROUTED_FIXED: &[(&str, Distribution)] = &[
    ("t7e8n33k65.top2.nt", Distribution::Exact),
    ("t9e3n5k7.top3.nn", Distribution::Exact),
    ("t16e64n16k64.top6.nn", Distribution::Uniform),
    ("t5e256n8k128.top8.nt", Distribution::Normal),
    ("t33e16n17k31.top4.nt", Distribution::Specials),
    ("t1e4n64k300.top4.nn", Distribution::Normal),
    ("t12e32n24k48.top8.nt", Distribution::Outliers),
    ("t6e8n130k300.top4.nt.fp8", Distribution::Normal),
    ("t5e256n8k256.top8.nt.fp8", Distribution::Outliers),
    ("t9e6n33k129.top3.nt.fp8", Distribution::Uniform),
    ("t7e8n16k257.top2.nt.fp8", Distribution::Exact),
];

/// Alignments the random contiguous problems use: 1 up to DeepGEMM's 128.
const ALIGNMENTS: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// Whether a kernel named `kernel` takes FP8 operands (`fp8`, `fp8-...`).
pub fn fp8_kernel(kernel: &str) -> bool {
    kernel.starts_with("fp8")
}

fn grouping() -> impl Strategy<Value = Grouping> + Clone {
    prop_oneof![Just(Grouping::Indices), Just(Grouping::Offsets)]
}

fn padding() -> impl Strategy<Value = Padding> + Clone {
    prop_oneof![Just(Padding::Untouched), Just(Padding::Zero)]
}

/// Contiguous problems for a kernel: 1 to 16 experts, 1 to 8 aligned blocks, n up to 160 and k
/// up to [`MAX_DIM`]; FP8 operands for FP8 kernels (B then K-major).
pub fn contiguous_problems(kernel: &str) -> impl Strategy<Value = MoeContiguousProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    (
        dim(16),
        1usize..=8,
        select(ALIGNMENTS.to_vec()),
        dim(160),
        dim(MAX_DIM),
        grouping(),
        padding(),
        layout(),
    )
        .prop_map(
            move |(experts, blocks, alignment, n, k, grouping, padding, b_layout)| {
                MoeContiguousProblem {
                    experts,
                    m: blocks * alignment,
                    n,
                    k,
                    alignment,
                    grouping,
                    padding,
                    b_layout: if fp8 { Layout::ColMajor } else { b_layout },
                    fp8,
                }
            },
        )
}

/// Masked problems for a kernel: 1 to 16 experts, max_m up to 64, n up to 160, k up to
/// [`MAX_DIM`].
pub fn masked_problems(kernel: &str) -> impl Strategy<Value = MoeMaskedProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    (
        dim(16),
        dim(64),
        dim(160),
        dim(MAX_DIM),
        padding(),
        layout(),
    )
        .prop_map(
            move |(experts, max_m, n, k, padding, b_layout)| MoeMaskedProblem {
                experts,
                max_m,
                n,
                k,
                padding,
                b_layout: if fp8 { Layout::ColMajor } else { b_layout },
                fp8,
            },
        )
}

/// Routed problems for a kernel: 1 to 64 tokens, 1 to 32 experts (or DeepSeek's 256), top-k up
/// to 8, n up to 160, k up to [`MAX_DIM`]; FP8 operands for FP8 kernels (W then K-major).
pub fn routed_problems(kernel: &str) -> impl Strategy<Value = MoeRoutedProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    let experts = prop_oneof![4 => dim(32), 1 => Just(256usize)];
    (
        dim(64),
        experts,
        1usize..=8,
        dim(160),
        dim(MAX_DIM),
        layout(),
    )
        .prop_map(
            move |(tokens, experts, top_k, n, k, b_layout)| MoeRoutedProblem {
                tokens,
                experts,
                top_k: top_k.min(experts),
                n,
                k,
                b_layout: if fp8 { Layout::ColMajor } else { b_layout },
                fp8,
            },
        )
}

/// DeepSeek-V3's MoE widths: hidden 7168 (the gate/up projections' k) and expert intermediate
/// 2048 (the down projection's k); 256 routed experts, 8 per token.
pub const DEEPSEEK_HIDDEN: usize = 7168;
/// See [`DEEPSEEK_HIDDEN`].
pub const DEEPSEEK_INTERMEDIATE: usize = 2048;
/// See [`DEEPSEEK_HIDDEN`].
pub const DEEPSEEK_EXPERTS: usize = 256;
/// See [`DEEPSEEK_HIDDEN`].
pub const DEEPSEEK_TOP_K: usize = 8;

/// The k of a DeepSeek projection, and n scaled down from its real 2048 or 7168 to what a CPU
/// judges in seconds (the expert count, top-k, k and the alignment are DeepSeek's own).
fn deepseek_widths() -> impl Strategy<Value = (usize, usize)> {
    (
        prop_oneof![Just(DEEPSEEK_HIDDEN), Just(DEEPSEEK_INTERMEDIATE)],
        prop_oneof![Just(4usize), Just(8), Just(9)],
    )
}

/// DeepSeek-like contiguous problems: 256 experts, DeepGEMM's 128-row alignment, 1 to 4 blocks
/// (a decode step's few routed tokens), k = 7168 or 2048, n scaled down.
pub fn deepseek_contiguous(kernel: &str) -> impl Strategy<Value = MoeContiguousProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    (1usize..=4, deepseek_widths(), grouping(), padding()).prop_map(
        move |(blocks, (k, n), grouping, padding)| MoeContiguousProblem {
            experts: DEEPSEEK_EXPERTS,
            m: blocks * crosscheck_spec::DEEPGEMM_ALIGNMENT,
            n,
            k,
            alignment: crosscheck_spec::DEEPGEMM_ALIGNMENT,
            grouping,
            padding,
            b_layout: Layout::ColMajor,
            fp8,
        },
    )
}

/// DeepSeek-like masked problems (low-latency decode under expert parallelism): 8 or 32 local
/// experts, or all 256, up to 8 rows each, k = 7168 or 2048, n scaled down.
pub fn deepseek_masked(kernel: &str) -> impl Strategy<Value = MoeMaskedProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    let experts = prop_oneof![Just(8usize), Just(32), Just(DEEPSEEK_EXPERTS)];
    (experts, 1usize..=8, deepseek_widths(), padding()).prop_map(
        move |(experts, max_m, (k, n), padding)| MoeMaskedProblem {
            experts,
            max_m,
            n,
            k,
            padding,
            b_layout: Layout::ColMajor,
            fp8,
        },
    )
}

/// DeepSeek-like routed problems: 1 to 6 tokens, each to 8 of 256 experts, k = 7168 or 2048,
/// n scaled down; FP8 operands (K-major) for FP8 kernels.
pub fn deepseek_routed(kernel: &str) -> impl Strategy<Value = MoeRoutedProblem> + use<> {
    let fp8 = fp8_kernel(kernel);
    (1usize..=6, deepseek_widths(), layout()).prop_map(move |(tokens, (k, n), b_layout)| {
        MoeRoutedProblem {
            tokens,
            experts: DEEPSEEK_EXPERTS,
            top_k: DEEPSEEK_TOP_K,
            n,
            k,
            b_layout: if fp8 { Layout::ColMajor } else { b_layout },
            fp8,
        }
    })
}

/// Smaller contiguous problems: fewer experts, blocks, columns or products, a smaller alignment,
/// the rows of one block only.
pub fn smaller_contiguous(p: &MoeContiguousProblem) -> Vec<MoeContiguousProblem> {
    let mut out = [
        vary(p, 1, |p| p.experts, |p, v| p.experts = v),
        vary(p, p.alignment, |p| p.m, |p, v| p.m = v),
        vary(p, 1, |p| p.n, |p, v| p.n = v),
        vary(p, 1, |p| p.k, |p, v| p.k = v),
        vary(p, 1, |p| p.alignment, |p, v| p.alignment = v),
    ]
    .concat();
    // A smaller alignment with as many blocks: fewer rows.
    out.extend(vary(
        p,
        1,
        |p| p.alignment,
        |p, v| {
            p.m = p.m / p.alignment * v;
            p.alignment = v;
        },
    ));
    out
}

/// Smaller masked problems: fewer experts, rows, columns or products.
pub fn smaller_masked(p: &MoeMaskedProblem) -> Vec<MoeMaskedProblem> {
    [
        vary(p, 1, |p| p.experts, |p, v| p.experts = v),
        vary(p, 1, |p| p.max_m, |p, v| p.max_m = v),
        vary(p, 1, |p| p.n, |p, v| p.n = v),
        vary(p, 1, |p| p.k, |p, v| p.k = v),
    ]
    .concat()
}

/// Smaller routed problems: fewer tokens, experts (top-k following), slots, columns or products.
pub fn smaller_routed(p: &MoeRoutedProblem) -> Vec<MoeRoutedProblem> {
    [
        vary(p, 1, |p| p.tokens, |p, v| p.tokens = v),
        vary(
            p,
            1,
            |p| p.experts,
            |p, v| {
                p.experts = v;
                p.top_k = p.top_k.min(v);
            },
        ),
        vary(p, 1, |p| p.top_k, |p, v| p.top_k = v),
        vary(p, 1, |p| p.n, |p, v| p.n = v),
        vary(p, 1, |p| p.k, |p, v| p.k = v),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::moe::id;

    #[test]
    fn fixed_cases_are_valid_problems() {
        for (p, _) in CONTIGUOUS_FIXED {
            id::parse_contiguous(p).unwrap().validate().unwrap();
        }
        for (p, _) in MASKED_FIXED {
            id::parse_masked(p).unwrap().validate().unwrap();
        }
        for (p, _) in ROUTED_FIXED {
            id::parse_routed(p).unwrap().validate().unwrap();
        }
    }

    #[test]
    fn smaller_contiguous_problems_stay_aligned() {
        let p = id::parse_contiguous("e4m64n33k65a16.idx.nt.zero").unwrap();
        let smaller = smaller_contiguous(&p);
        assert!(smaller.iter().any(|q| q.m == 16 && q.alignment == 16));
        assert!(smaller.iter().any(|q| q.alignment == 1 && q.m == 4));
        assert!(smaller.iter().filter(|q| q.validate().is_ok()).count() > 8);
    }
}
