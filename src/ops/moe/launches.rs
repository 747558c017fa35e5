//! The smaller MoE launches the invariance checks compare bit for bit: the last aligned block of
//! a contiguous problem alone (its prefix-sum offsets shifted to it), the last expert of a masked
//! problem alone, and the last token and the second half of the tokens of a routed problem (FP8
//! activations cut by whole 1×128-tile rows).

use crosscheck_spec::{
    Grouping, HostTensor, Layout, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem,
    Precision, Problem, QuantFormat, i32_le_bytes, i32_le_values,
};

use crate::run::invariance::{Invariance, SubLaunch, row_ranges, span_name};

/// A raw-bytes tensor.
fn bytes_tensor(bytes: Vec<u8>) -> HostTensor {
    HostTensor {
        shape: vec![bytes.len()],
        layout: Layout::RowMajor,
        precision: Precision::U8,
        bytes,
    }
}

/// Rows `rows` (each `k` wide) of the activations: values in the variant, or FP8 1×128 tiles.
fn activation_rows(
    a: &HostTensor,
    total_rows: usize,
    k: usize,
    rows: std::ops::Range<usize>,
    fp8: bool,
) -> Option<HostTensor> {
    if fp8 {
        let bytes = QuantFormat::Fp8E4M3Tile.select_rows(&a.bytes, total_rows, k, rows)?;
        return Some(bytes_tensor(bytes));
    }
    let size = a.precision.bytes();
    let mut shape = a.shape.clone();
    let count = rows.len();
    // Contiguous A is [m, k], masked A [experts, max_m, k]: both become [rows, k]-shaped by the
    // caller's problem; here only the bytes and the leading dimension change.
    shape[0] = count / shape[1..shape.len() - 1].iter().product::<usize>().max(1);
    Some(HostTensor {
        shape,
        bytes: a.bytes[rows.start * k * size..rows.end * k * size].to_vec(),
        ..a.clone()
    })
}

/// The last aligned block of rows launched alone (with more than one block).
pub fn contiguous(p: &MoeContiguousProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    if p.m <= p.alignment {
        return Vec::new();
    }
    let start = p.m - p.alignment;
    let sub = MoeContiguousProblem {
        m: p.alignment,
        ..*p
    };
    let grouping = i32_le_values(&inputs[2].bytes);
    let shifted: Vec<i32> = match p.grouping {
        Grouping::Indices => grouping[start..].to_vec(),
        // A segment that started before the block keeps its end, shifted; one that ended before
        // it ends at 0. The block starts on an alignment, so aligned starts stay aligned.
        Grouping::Offsets => grouping
            .iter()
            .map(|&end| (end - start as i32).max(0))
            .collect(),
    };
    let Some(a) = activation_rows(&inputs[0], p.m, p.k, start..p.m, p.fp8) else {
        return Vec::new();
    };
    vec![SubLaunch {
        checks: Invariance::Batch,
        what: format!(
            "a launch of rows {start}..{} (the last aligned block) alone (m = {})",
            p.m, sub.m
        ),
        problem: Problem::MoeContiguous(sub),
        inputs: vec![a, inputs[1].clone(), bytes_tensor(i32_le_bytes(&shifted))],
        spans: vec![(0, start * p.n, sub.m * p.n)],
    }]
}

/// The last expert launched alone (with more than one expert).
pub fn masked(p: &MoeMaskedProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    if p.experts < 2 {
        return Vec::new();
    }
    let e = p.experts - 1;
    let sub = MoeMaskedProblem { experts: 1, ..*p };
    let rows = e * p.max_m..(e + 1) * p.max_m;
    let Some(a) = activation_rows(&inputs[0], p.experts * p.max_m, p.k, rows, p.fp8) else {
        return Vec::new();
    };
    let b = &inputs[1];
    let per_expert = b.bytes.len() / p.experts;
    let b_alone = HostTensor {
        shape: if p.fp8 {
            vec![per_expert]
        } else {
            vec![1, p.k, p.n]
        },
        bytes: b.bytes[e * per_expert..(e + 1) * per_expert].to_vec(),
        ..b.clone()
    };
    let count = inputs[2].bytes[4 * e..4 * e + 4].to_vec();
    vec![SubLaunch {
        checks: Invariance::Batch,
        what: format!("a launch of expert {e} alone (experts = 1)"),
        problem: Problem::MoeMasked(sub),
        inputs: vec![a, b_alone, bytes_tensor(count)],
        spans: vec![(0, e * p.max_m * p.n, p.max_m * p.n)],
    }]
}

/// The last token alone and the second half of the tokens.
pub fn routed(p: &MoeRoutedProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (x, w, ids, weights) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    row_ranges(p.tokens)
        .into_iter()
        .filter_map(|tokens| {
            let sub = MoeRoutedProblem {
                tokens: tokens.len(),
                ..*p
            };
            let cut = |t: &HostTensor, width: usize, shape: Vec<usize>| {
                let size = t.precision.bytes() * width;
                HostTensor {
                    shape,
                    bytes: t.bytes[tokens.start * size..tokens.end * size].to_vec(),
                    ..t.clone()
                }
            };
            let x_rows = activation_rows(x, p.tokens, p.k, tokens.clone(), p.fp8)?;
            Some(SubLaunch {
                checks: Invariance::Batch,
                what: format!(
                    "a launch of {} alone (tokens = {})",
                    span_name("token", &tokens),
                    sub.tokens
                ),
                problem: Problem::MoeRouted(sub),
                inputs: vec![
                    x_rows,
                    w.clone(),
                    cut(ids, 4 * p.top_k, vec![4 * sub.tokens * p.top_k]),
                    cut(weights, p.top_k, vec![sub.tokens, p.top_k]),
                ],
                spans: vec![(0, tokens.start * p.n, sub.tokens * p.n)],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Distribution;
    use crate::ops::moe::{data, id};

    /// Every sub-launch's oracle rows equal the full oracle's on its spans.
    #[test]
    fn sub_launches_compute_the_same_rows() {
        for (text, fp8) in [
            ("e4m64n5k9a16.psum.nt.zero", false),
            ("e4m64n5k9a16.idx.nn.keep", false),
            ("e3m96n7k130a32.psum.nt.keep.fp8", true),
        ] {
            let p = id::parse_contiguous(text).unwrap();
            for seed in 0..20 {
                let inputs =
                    data::contiguous_inputs(&p, Precision::F32, Distribution::Normal, seed);
                let full = crosscheck_reference::moe::contiguous(&p, &inputs).unwrap();
                for sub in contiguous(&p, &inputs) {
                    let Problem::MoeContiguous(sp) = sub.problem else {
                        unreachable!()
                    };
                    sp.validate().unwrap();
                    let part = crosscheck_reference::moe::contiguous(&sp, &sub.inputs).unwrap();
                    let (from, to, len) = sub.spans[0];
                    assert_eq!(part.values[from..from + len], full.values[to..to + len]);
                    assert_eq!(
                        part.row_experts,
                        full.row_experts[to / p.n..(to + len) / p.n],
                        "{text} seed {seed} fp8 {fp8}"
                    );
                }
            }
        }
        let p = id::parse_masked("e3m5n4k130.nt.keep.fp8").unwrap();
        let inputs = data::masked_inputs(&p, Precision::F32, Distribution::Normal, 3);
        let full = crosscheck_reference::moe::masked(&p, &inputs).unwrap();
        for sub in masked(&p, &inputs) {
            let Problem::MoeMasked(sp) = sub.problem else {
                unreachable!()
            };
            let part = crosscheck_reference::moe::masked(&sp, &sub.inputs).unwrap();
            let (from, to, len) = sub.spans[0];
            assert_eq!(part.values[from..from + len], full.values[to..to + len]);
        }
        for text in ["t5e6n3k7.top3.nn", "t5e6n3k130.top3.nt.fp8"] {
            let p = id::parse_routed(text).unwrap();
            let inputs = data::routed_inputs(&p, Precision::BF16, Distribution::Normal, 4);
            let full = crosscheck_reference::moe::routed(&p, &inputs).unwrap();
            let subs = routed(&p, &inputs);
            assert_eq!(subs.len(), 2);
            for sub in subs {
                let Problem::MoeRouted(sp) = sub.problem else {
                    unreachable!()
                };
                let part = crosscheck_reference::moe::routed(&sp, &sub.inputs).unwrap();
                let (from, to, len) = sub.spans[0];
                assert_eq!(part.values[from..from + len], full.values[to..to + len]);
            }
        }
    }
}
