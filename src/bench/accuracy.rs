//! The err/bound distribution per precision: every planned case of the selected matmul and
//! attention cells, judged as in the matrix, with its worst err/bound ratio kept.

use std::sync::Arc;

use serde::Serialize;

use crosscheck_spec::{Backend, Op};

use crate::run::matrix::cell_slots;
use crate::run::{CaseResult, CellKey, Plan, run_case};

/// The worst err/bound ratio of every judged case of one precision (variant label).
#[derive(Debug, Clone, Serialize)]
pub struct AccuracySample {
    /// Variant label.
    pub precision: String,
    /// Sorted ascending.
    pub ratios: Vec<f64>,
}

/// Runs the plan's cases of the selected matmul and attention cells and groups the ratios.
pub fn sample(
    backends: &[Arc<dyn Backend>],
    filter: &dyn Fn(&CellKey) -> bool,
    plan: &Plan,
) -> Vec<AccuracySample> {
    let float_ops = |k: &CellKey| matches!(k.op, Op::Matmul | Op::Attention) && filter(k);
    let mut out: Vec<AccuracySample> = Vec::new();
    for slot in cell_slots(backends, &float_ops) {
        if slot.unavailable.is_some() {
            continue;
        }
        let k = &slot.key;
        for case in plan.cases(k.op, &k.backend, &k.kernel, k.variant) {
            let Ok(CaseResult::Judged { verdict, .. }) = run_case(&slot.backend, &case) else {
                continue;
            };
            if !verdict.passed() || verdict.worst_ratio.is_nan() {
                continue;
            }
            let label = k.variant.label();
            match out.iter_mut().find(|s| s.precision == label) {
                Some(s) => s.ratios.push(verdict.worst_ratio),
                None => out.push(AccuracySample {
                    precision: label,
                    ratios: vec![verdict.worst_ratio],
                }),
            }
        }
    }
    for s in &mut out {
        s.ratios.sort_by(f64::total_cmp);
    }
    out
}
