//! Smaller neighbours of a problem, for the greedy pass that finishes proptest's shrinking:
//! each neighbour changes one thing (a dimension cut to its smallest, halved or decremented, a
//! flag turned off), and only valid problems are offered, smallest first.

use crosscheck_spec::Problem;

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

/// Each value of `smaller_dims(get(p), step)` put back into a copy of `p` with `set`.
pub(crate) fn vary<P: Clone>(
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

/// Valid problems one step smaller than `problem`, the biggest cuts first.
pub fn smaller_problems(problem: &Problem) -> Vec<Problem> {
    let candidates = crate::ops::of(problem).smaller(problem);
    candidates
        .into_iter()
        .filter(|c| c.validate().is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Layout, MatmulProblem, QuantFormat, QuantizeProblem};

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
