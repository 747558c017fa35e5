//! A matmul problem as text: the case-id part `b2m17n33k5.rc.bcast` and the protocol JSON.

use crosscheck_spec::{Layout, MatmulProblem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;
use crate::process::problem_json::{layout_name, parse_layout};

/// `b2m17n33k5.rc.bcast`: batch, m, n, k, the layouts of A and B, and whether B is shared.
pub fn problem_id(p: &MatmulProblem) -> String {
    format!(
        "b{}m{}n{}k{}.{}{}{}",
        p.batch,
        p.m,
        p.n,
        p.k,
        p.a_layout.tag(),
        p.b_layout.tag(),
        if p.b_broadcast { ".bcast" } else { "" }
    )
}

/// Parses [`problem_id`]'s form.
pub fn parse(s: &str) -> Result<MatmulProblem, String> {
    let bad =
        || format!("matmul problem `{s}` should look like b1m17n33k5.rc or b2m4n4k8.cr.bcast");
    let mut fields = s.split('.');
    let dims = fields.next().ok_or_else(bad)?;
    let layouts: Vec<char> = fields.next().ok_or_else(bad)?.chars().collect();
    let b_broadcast = match fields.next() {
        None => false,
        Some("bcast") => true,
        Some(_) => return Err(bad()),
    };
    if fields.next().is_some() || layouts.len() != 2 {
        return Err(bad());
    }
    let values = labelled_numbers(dims, &['b', 'm', 'n', 'k']).ok_or_else(bad)?;
    Ok(MatmulProblem {
        batch: values[0],
        m: values[1],
        n: values[2],
        k: values[3],
        a_layout: Layout::from_tag(layouts[0]).ok_or_else(bad)?,
        b_layout: Layout::from_tag(layouts[1]).ok_or_else(bad)?,
        b_broadcast,
    })
}

/// The protocol JSON object.
pub fn to_json(p: &MatmulProblem) -> Value {
    json!({
        "batch": p.batch, "m": p.m, "n": p.n, "k": p.k,
        "a_layout": layout_name(p.a_layout), "b_layout": layout_name(p.b_layout),
        "b_broadcast": p.b_broadcast,
    })
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

/// Parses [`to_json`]'s object (layouts default to row-major, B to not shared).
pub fn from_json(json: &str) -> Result<MatmulProblem, String> {
    let p: MatmulJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(MatmulProblem {
        batch: p.batch,
        m: p.m,
        n: p.n,
        k: p.k,
        a_layout: parse_layout(&p.a_layout)?,
        b_layout: parse_layout(&p.b_layout)?,
        b_broadcast: p.b_broadcast,
    })
}
