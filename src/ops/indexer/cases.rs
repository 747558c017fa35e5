//! Which sparse indexer problems run: the default plan's few small fixed cases (one key, a
//! prefill with causal ranges, DeepSeek's 64 heads × 128 in FP8 and bf16 widths, odd widths),
//! the random problems of the property tests and the shrinker's steps.

use crosscheck_spec::{Problem, SparseIndexerProblem};
use proptest::prelude::*;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim};
use crate::generate::smaller::vary;

/// Fixed indexer cases: every case's ranges mix causal prefixes, arbitrary windows and (from two
/// queries on) an empty range (`data::ranges`).
pub const FIXED: &[(&str, Distribution)] = &[
    ("q1k1h1d1", Distribution::Normal),
    ("q9k40h4d32", Distribution::Normal),
    ("q3k40h64d128", Distribution::Uniform),
    ("q6k33h3d24.fp8", Distribution::Normal),
    ("q2k40h64d128.fp8", Distribution::Normal),
];

/// Multiply-adds an indexer case may cost (len_q·len_kv·heads·d), so that a property's cases
/// stay fast on a software GPU; larger draws are rejected and redrawn.
pub const INDEXER_WORK_BUDGET: usize = 2_000_000;

/// Indexer problems: len_q in 1..=40, len_kv in 1..=[`MAX_DIM`], heads mostly DeepSeek's 64 or
/// small, head widths DeepSeek's 128 or any up to 160; FP8 when `fp8`; at most
/// [`INDEXER_WORK_BUDGET`].
pub fn problems(fp8: bool) -> impl Strategy<Value = SparseIndexerProblem> {
    let heads = prop_oneof![1 => Just(64usize), 3 => dim(16)];
    let d = prop_oneof![1 => Just(128usize), 3 => dim(160)];
    (dim(40), dim(MAX_DIM), heads, d)
        .prop_map(move |(len_q, len_kv, heads, d)| SparseIndexerProblem {
            len_q,
            len_kv,
            heads,
            d,
            fp8,
        })
        .prop_filter("indexer work budget", |p| {
            Problem::SparseIndexer(*p).work() <= INDEXER_WORK_BUDGET
        })
}

/// Smaller indexer problems: fewer queries, keys or heads, narrower heads (FP8 stays FP8: a
/// kernel reads one layout).
pub fn smaller(p: &SparseIndexerProblem) -> Vec<SparseIndexerProblem> {
    let mut out = Vec::new();
    out.extend(vary(p, 1, |p| p.len_q, |p, v| p.len_q = v));
    out.extend(vary(p, 1, |p| p.len_kv, |p, v| p.len_kv = v));
    out.extend(vary(p, 1, |p| p.heads, |p, v| p.heads = v));
    out.extend(vary(p, 1, |p| p.d, |p, v| p.d = v));
    out
}

/// Whether a kernel named `kernel` reads FP8 inputs (its name ends in `fp8`).
pub fn fp8_kernel(kernel: &str) -> bool {
    kernel.ends_with("fp8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_keeps_the_layout_and_shrinks_every_dimension() {
        let p = SparseIndexerProblem {
            len_q: 4,
            len_kv: 64,
            heads: 64,
            d: 128,
            fp8: true,
        };
        let smaller = smaller(&p);
        assert!(smaller.iter().all(|s| s.fp8));
        assert!(smaller.iter().any(|s| s.heads < 64) && smaller.iter().any(|s| s.d < 128));
    }
}
