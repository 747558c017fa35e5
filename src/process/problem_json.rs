//! Problems as the protocol writes them: one JSON object per op with every key present, and
//! back (a captured case carries its problem the same way).

use crosscheck_spec::{Layout, Op, Problem};
use serde_json::Value;

/// The layout's protocol name: `row` or `col`.
pub fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::RowMajor => "row",
        Layout::ColMajor => "col",
    }
}

/// Parses a layout's protocol name.
pub fn parse_layout(name: &str) -> Result<Layout, String> {
    match name {
        "row" => Ok(Layout::RowMajor),
        "col" => Ok(Layout::ColMajor),
        other => Err(format!("layout `{other}` (use row or col)")),
    }
}

/// The problem as protocol JSON (its op family's object).
pub fn problem_json(problem: &Problem) -> Value {
    crate::ops::of(problem).problem_json(problem)
}

/// Parses the protocol JSON of a problem of `op` (as a captured case holds it) and validates it.
/// A custom attention scale must be an f32 value; `window` 0 means none.
pub fn parse_problem(op: Op, json: &str) -> Result<Problem, String> {
    let problem = crate::ops::family(op).parse_problem_json(json)?;
    problem.validate().map_err(|e| e.to_string())?;
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{AttentionProblem, MatmulProblem};

    #[test]
    fn problems_round_trip_through_json() {
        let problems = [
            Problem::Matmul(MatmulProblem {
                batch: 2,
                m: 3,
                n: 4,
                k: 5,
                a_layout: Layout::ColMajor,
                b_layout: Layout::RowMajor,
                b_broadcast: true,
            }),
            Problem::Attention(AttentionProblem {
                batch: 1,
                heads_q: 4,
                heads_kv: 2,
                len_q: 3,
                len_kv: 9,
                d_qk: 8,
                d_v: 4,
                causal: true,
                window: Some(2),
                scale_bits: Some(0.3f32.to_bits()),
            }),
        ];
        for p in problems {
            let json = problem_json(&p).to_string();
            assert_eq!(parse_problem(p.op(), &json).unwrap(), p, "{json}");
        }
        let bad = parse_problem(Op::Matmul, r#"{"batch": 1, "m": 0, "n": 1, "k": 1}"#);
        assert!(bad.unwrap_err().contains("dimension m is 0"));
    }
}
