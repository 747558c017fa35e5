//! The smaller matmul launches the invariance checks compare bit for bit: the last row of the
//! last batch entry alone, the second half of its rows, and (with batch > 1) all its rows.

use crosscheck_spec::{HostTensor, MatmulProblem, Problem};

use crate::run::invariance::{Invariance, SubLaunch, gather, row_ranges, span_name};

/// Rows of the last batch entry launched alone.
pub fn sub_launches(p: &MatmulProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (a, b) = (&inputs[0], &inputs[1]);
    let entry = p.batch - 1;
    let b_alone = if p.b_broadcast {
        b.clone()
    } else {
        gather(b, vec![1, p.k, p.n], entry..p.batch, 0..p.k)
    };
    let mut ranges = row_ranges(p.m);
    if p.batch > 1 {
        ranges.push(0..p.m);
    }
    ranges
        .into_iter()
        .map(|rows| {
            let sub = MatmulProblem {
                batch: 1,
                m: rows.len(),
                b_broadcast: false,
                ..*p
            };
            SubLaunch {
                checks: Invariance::Batch,
                what: format!(
                    "a launch of {} of batch entry {entry} alone (batch = 1, m = {})",
                    span_name("row", &rows),
                    sub.m
                ),
                problem: Problem::Matmul(sub),
                inputs: vec![
                    gather(a, vec![1, sub.m, p.k], entry..p.batch, rows.clone()),
                    b_alone.clone(),
                ],
                spans: vec![(0, (entry * p.m + rows.start) * p.n, sub.m * p.n)],
            }
        })
        .collect()
}
