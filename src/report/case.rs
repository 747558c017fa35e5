//! Describing one case's verdict: what failed, the worst elements, and the repro line.

use std::fmt::Write;

use crosscheck_spec::Problem;

use crate::case::Case;
use crate::judge::{ElementCheck, Tier, Verdict};

/// `C[b,i,j]`: where a flat output index sits in the problem's output.
pub fn element_label(problem: &Problem, index: usize) -> String {
    let name = crate::ops::of(problem).output_name();
    let shape = problem.output_shape();
    let mut coords = vec![0; shape.len()];
    let mut rest = index;
    for (c, d) in coords.iter_mut().zip(&shape).rev() {
        *c = rest % d;
        rest /= d;
    }
    let coords: Vec<String> = coords.iter().map(|c| c.to_string()).collect();
    format!("{name}[{}]", coords.join(","))
}

/// One-line summary of a verdict: failures, or PASS with the worst ratio.
pub fn summary(case: &Case, verdict: &Verdict) -> String {
    if verdict.passed() {
        let tier = match verdict.tier {
            Tier::Exact => "exact tier, bit-equal",
            Tier::Bound => "bound tier",
        };
        if let Some(finding) = verdict.findings.first() {
            return format!("PORTABILITY FINDING: {finding}");
        }
        return format!("PASS ({tier}; worst err/bound {:.3})", verdict.worst_ratio);
    }
    let failures: Vec<String> = verdict.failures.iter().map(|f| f.to_string()).collect();
    let mut s = format!("FAIL: {}", failures.join("; "));
    if let Some(w) = verdict.worst().filter(|w| w.ratio > 1.0) {
        write!(s, "; worst {}", element_line(&case.problem, w)).unwrap();
    }
    s
}

/// `C[0,3,4] = 1.5 (oracle 1.25, allowed [1.2, 1.3], err/bound 5.0)`.
pub fn element_line(problem: &Problem, e: &ElementCheck) -> String {
    let label = element_label(problem, e.index);
    if e.unwritten {
        return format!("{label} never written (oracle {})", num(e.oracle));
    }
    if e.touched {
        return format!(
            "{label} = {} written, but the problem says to leave it untouched",
            num(e.value)
        );
    }
    format!(
        "{label} = {} (oracle {}, allowed [{}, {}], err/bound {})",
        num(e.value),
        num(e.oracle),
        num(e.lo),
        num(e.hi),
        ratio(e.ratio)
    )
}

/// A value for humans: shortest round-trip digits, in scientific notation when very large or small.
pub fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e7).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A ratio for humans: `0.42`, `3.1e5`, `inf`.
pub fn ratio(r: f64) -> String {
    if r.is_infinite() {
        "inf".into()
    } else if r < 1000.0 {
        format!("{r:.3}")
    } else {
        format!("{r:.2e}")
    }
}

/// Full description for `crosscheck repro`: summary, statistics and the worst elements.
pub fn describe_case(case: &Case, verdict: &Verdict) -> String {
    let mut s = String::new();
    writeln!(s, "case     {case}").unwrap();
    writeln!(s, "verdict  {}", summary(case, verdict)).unwrap();
    for note in &verdict.notes {
        writeln!(s, "note     {note}").unwrap();
    }
    if verdict.elements > 0 {
        writeln!(
            s,
            "stats    {} elements, {} outside the bound, NMSE {:.3e}, max error {:.3} ulp",
            verdict.elements, verdict.failing, verdict.stats.nmse, verdict.stats.max_ulp
        )
        .unwrap();
        if let Some(q) = &verdict.stats.quantization {
            writeln!(
                s,
                "quant    against the f64 product of the unquantized inputs (reported, not judged): \
                 max abs error {}, max rel error {:.3e}, NMSE {:.3e}",
                num(q.max_abs),
                q.max_rel,
                q.nmse
            )
            .unwrap();
        }
        writeln!(s, "worst elements:").unwrap();
        for e in &verdict.top {
            writeln!(s, "  {}", element_line(&case.problem, e)).unwrap();
        }
    }
    s
}
