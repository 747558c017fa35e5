//! Smaller neighbours of a problem, for the greedy pass that finishes proptest's shrinking:
//! each neighbour changes one thing (a dimension cut to its smallest, halved or decremented, a
//! flag turned off), and only valid problems are offered, smallest first.

use crosscheck_spec::{AttentionProblem, GGML_BLOCK, Problem, QuantFormat};

/// Smaller values for a dimension `x` that must stay a positive multiple of `step`: the
/// smallest, twice that, half of `x` and one step less, in that order, without repeats.
fn smaller_dims(x: usize, step: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for c in [step, 2 * step, x / 2 / step * step, x.saturating_sub(step)] {
        if c >= step && c < x && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The step a row length of `format` moves in: a whole GGML block where the format needs them.
fn row_step(format: QuantFormat) -> usize {
    if format.check_cols(1).is_err() {
        GGML_BLOCK
    } else {
        1
    }
}

/// Each value of `smaller_dims(get(p), step)` put back into a copy of `p` with `set`.
fn vary<P: Clone>(
    p: &P,
    step: usize,
    get: impl Fn(&P) -> usize,
    set: impl Fn(&mut P, usize),
) -> Vec<P> {
    smaller_dims(get(p), step)
        .into_iter()
        .map(|v| {
            let mut q = p.clone();
            set(&mut q, v);
            q
        })
        .collect()
}

/// Smaller attention problems: fewer batches, heads or positions, narrower heads, no mask flags.
fn smaller_attention(p: &AttentionProblem) -> Vec<AttentionProblem> {
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

/// Valid problems one step smaller than `problem`, the biggest cuts first.
pub fn smaller_problems(problem: &Problem) -> Vec<Problem> {
    let candidates: Vec<Problem> = match problem {
        Problem::Matmul(p) => [
            vary(p, 1, |p| p.batch, |p, v| p.batch = v),
            vary(p, 1, |p| p.m, |p, v| p.m = v),
            vary(p, 1, |p| p.n, |p, v| p.n = v),
            vary(p, 1, |p| p.k, |p, v| p.k = v),
        ]
        .concat()
        .into_iter()
        .map(Problem::Matmul)
        .collect(),
        Problem::Attention(p) => smaller_attention(p)
            .into_iter()
            .map(Problem::Attention)
            .collect(),
        Problem::Quantize(p) | Problem::Dequantize(p) => {
            let wrap = |q| match problem {
                Problem::Quantize(_) => Problem::Quantize(q),
                _ => Problem::Dequantize(q),
            };
            [
                vary(p, 1, |p| p.rows, |p, v| p.rows = v),
                vary(p, row_step(p.format), |p| p.cols, |p, v| p.cols = v),
            ]
            .concat()
            .into_iter()
            .map(wrap)
            .collect()
        }
        Problem::QuantMatmul(p) => [
            vary(p, 1, |p| p.m, |p, v| p.m = v),
            vary(p, 1, |p| p.n, |p, v| p.n = v),
            vary(p, row_step(p.weights), |p| p.k, |p, v| p.k = v),
        ]
        .concat()
        .into_iter()
        .map(Problem::QuantMatmul)
        .collect(),
    };
    candidates
        .into_iter()
        .filter(|c| c.validate().is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Layout, MatmulProblem, QuantizeProblem};

    #[test]
    fn dimensions_shrink_to_the_smallest_first_and_stay_on_their_step() {
        assert_eq!(smaller_dims(64, 1), vec![1, 2, 32, 63]);
        assert_eq!(smaller_dims(2, 1), vec![1]);
        assert!(smaller_dims(1, 1).is_empty());
        assert_eq!(smaller_dims(96, 32), vec![32, 64]);
    }

    #[test]
    fn every_neighbour_is_valid_and_smaller() {
        let matmul = Problem::Matmul(MatmulProblem {
            batch: 2,
            m: 3,
            n: 1,
            k: 64,
            a_layout: Layout::RowMajor,
            b_layout: Layout::ColMajor,
            b_broadcast: true,
        });
        let q4 = Problem::Quantize(QuantizeProblem {
            format: QuantFormat::Q4_0,
            rows: 1,
            cols: 96,
        });
        for problem in [matmul, q4] {
            let smaller = smaller_problems(&problem);
            assert!(!smaller.is_empty());
            for s in smaller {
                assert!(s.validate().is_ok());
                assert!(s.work() < problem.work(), "{s:?} from {problem:?}");
            }
        }
    }
}
