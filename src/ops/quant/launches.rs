//! The smaller quantized-matmul launches the invariance checks compare bit for bit: the last
//! token alone and the second half of the tokens (activations cut on whole scale rows).

use crosscheck_spec::{HostTensor, Problem, QuantMatmulProblem};

use crate::run::invariance::{Invariance, SubLaunch, gather, row_ranges, span_name};

/// Trailing tokens launched alone.
pub fn sub_launches(p: &QuantMatmulProblem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
    let (a, w) = (&inputs[0], &inputs[1]);
    row_ranges(p.m)
        .into_iter()
        .filter_map(|rows| {
            let sub = QuantMatmulProblem {
                m: rows.len(),
                ..*p
            };
            let a_rows = match p.activations() {
                None => gather(a, vec![sub.m, p.k], 0..1, rows.clone()),
                Some(format) => {
                    let bytes = format.select_rows(&a.bytes, p.m, p.k, rows.clone())?;
                    HostTensor {
                        shape: vec![bytes.len()],
                        bytes,
                        ..a.clone()
                    }
                }
            };
            Some(SubLaunch {
                checks: Invariance::Batch,
                what: format!(
                    "a launch of {} alone (m = {})",
                    span_name("row", &rows),
                    sub.m
                ),
                problem: Problem::QuantMatmul(sub),
                inputs: vec![a_rows, w.clone()],
                spans: vec![(0, rows.start * p.n, sub.m * p.n)],
            })
        })
        .collect()
}
