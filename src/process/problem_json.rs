//! Problems as the protocol writes them: one JSON object per op with every key present, and
//! back (a captured case carries its problem the same way).

use crosscheck_spec::{
    AttentionProblem, Layout, MatmulProblem, Op, Problem, QuantMatmulProblem, QuantizeProblem,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The layout's protocol name: `row` or `col`.
pub fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::RowMajor => "row",
        Layout::ColMajor => "col",
    }
}

fn parse_layout(name: &str) -> Result<Layout, String> {
    match name {
        "row" => Ok(Layout::RowMajor),
        "col" => Ok(Layout::ColMajor),
        other => Err(format!("layout `{other}` (use row or col)")),
    }
}

/// The problem as protocol JSON.
pub fn problem_json(problem: &Problem) -> Value {
    match problem {
        Problem::Matmul(p) => json!({
            "batch": p.batch, "m": p.m, "n": p.n, "k": p.k,
            "a_layout": layout_name(p.a_layout), "b_layout": layout_name(p.b_layout),
            "b_broadcast": p.b_broadcast,
        }),
        Problem::Attention(p) => json!({
            "batch": p.batch, "heads_q": p.heads_q, "heads_kv": p.heads_kv,
            "len_q": p.len_q, "len_kv": p.len_kv, "d_qk": p.d_qk, "d_v": p.d_v,
            "causal": p.causal, "window": p.window,
            "scale": p.custom_scale().map_or(1.0 / (p.d_qk as f64).sqrt(), f64::from),
            "custom_scale": p.scale_bits.is_some(),
        }),
        Problem::Quantize(p) | Problem::Dequantize(p) => json!({
            "format": p.format.name(), "rows": p.rows, "cols": p.cols,
        }),
        Problem::QuantMatmul(p) => json!({
            "weights": p.weights.name(),
            "activations": p.activations().map(|f| f.name()),
            "m": p.m, "n": p.n, "k": p.k,
        }),
    }
}

#[derive(Deserialize)]
struct MatmulJson {
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    #[serde(default = "row")]
    a_layout: String,
    #[serde(default = "row")]
    b_layout: String,
    #[serde(default)]
    b_broadcast: bool,
}

fn row() -> String {
    "row".into()
}

#[derive(Deserialize)]
struct AttentionJson {
    batch: usize,
    heads_q: usize,
    heads_kv: usize,
    len_q: usize,
    len_kv: usize,
    d_qk: usize,
    d_v: usize,
    #[serde(default)]
    causal: bool,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    custom_scale: bool,
}

#[derive(Deserialize)]
struct QuantizeJson {
    format: String,
    rows: usize,
    cols: usize,
}

#[derive(Deserialize)]
struct QuantMatmulJson {
    weights: String,
    m: usize,
    n: usize,
    k: usize,
}

/// Parses the protocol JSON of a problem of `op` (as a captured case holds it) and validates it.
/// A custom attention scale must be an f32 value; `window` 0 means none.
pub fn parse_problem(op: Op, json: &str) -> Result<Problem, String> {
    let fail = |e: serde_json::Error| format!("problem: {e}");
    let problem = match op {
        Op::Matmul => {
            let p: MatmulJson = serde_json::from_str(json).map_err(fail)?;
            Problem::Matmul(MatmulProblem {
                batch: p.batch,
                m: p.m,
                n: p.n,
                k: p.k,
                a_layout: parse_layout(&p.a_layout)?,
                b_layout: parse_layout(&p.b_layout)?,
                b_broadcast: p.b_broadcast,
            })
        }
        Op::Attention => {
            let p: AttentionJson = serde_json::from_str(json).map_err(fail)?;
            let scale_bits = match (p.custom_scale, p.scale) {
                (false, _) | (true, None) => None,
                (true, Some(s)) => {
                    let single = s as f32;
                    if f64::from(single) != s {
                        return Err(format!("problem: custom scale {s} is not an f32 value"));
                    }
                    Some(single.to_bits())
                }
            };
            Problem::Attention(AttentionProblem {
                batch: p.batch,
                heads_q: p.heads_q,
                heads_kv: p.heads_kv,
                len_q: p.len_q,
                len_kv: p.len_kv,
                d_qk: p.d_qk,
                d_v: p.d_v,
                causal: p.causal,
                window: p.window.filter(|&w| w != 0),
                scale_bits,
            })
        }
        Op::Quantize | Op::Dequantize => {
            let p: QuantizeJson = serde_json::from_str(json).map_err(fail)?;
            let q = QuantizeProblem {
                format: p.format.parse()?,
                rows: p.rows,
                cols: p.cols,
            };
            if op == Op::Quantize {
                Problem::Quantize(q)
            } else {
                Problem::Dequantize(q)
            }
        }
        Op::QuantMatmul => {
            let p: QuantMatmulJson = serde_json::from_str(json).map_err(fail)?;
            Problem::QuantMatmul(QuantMatmulProblem {
                weights: p.weights.parse()?,
                m: p.m,
                n: p.n,
                k: p.k,
            })
        }
    };
    problem.validate().map_err(|e| e.to_string())?;
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

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
