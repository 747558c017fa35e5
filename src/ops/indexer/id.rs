//! A sparse indexer problem as text: the case-id part `q7k40h4d32[.fp8]` and the protocol JSON.

use crosscheck_spec::SparseIndexerProblem;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `q7k40h4d32[.fp8]`: query and key tokens, heads, head width, then the FP8 inputs.
pub fn problem_id(p: &SparseIndexerProblem) -> String {
    let id = format!("q{}k{}h{}d{}", p.len_q, p.len_kv, p.heads, p.d);
    if p.fp8 { id + ".fp8" } else { id }
}

/// Parses `q7k40h4d32[.fp8]`.
pub fn parse(s: &str) -> Result<SparseIndexerProblem, String> {
    let bad = || {
        format!(
            "sparse-indexer problem `{s}` should look like q7k40h4d32, optionally followed by .fp8"
        )
    };
    let (dims, fp8) = match s.strip_suffix(".fp8") {
        Some(dims) => (dims, true),
        None => (s, false),
    };
    let v = labelled_numbers(dims, &['q', 'k', 'h', 'd']).ok_or_else(bad)?;
    Ok(SparseIndexerProblem {
        len_q: v[0],
        len_kv: v[1],
        heads: v[2],
        d: v[3],
        fp8,
    })
}

/// The protocol JSON object.
pub fn to_json(p: &SparseIndexerProblem) -> Value {
    json!({ "len_q": p.len_q, "len_kv": p.len_kv, "heads": p.heads, "d": p.d, "fp8": p.fp8 })
}

#[derive(Deserialize)]
struct IndexerJson {
    len_q: usize,
    len_kv: usize,
    heads: usize,
    d: usize,
    #[serde(default)]
    fp8: bool,
}

/// Parses [`to_json`]'s object.
pub fn from_json(json: &str) -> Result<SparseIndexerProblem, String> {
    let p: IndexerJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(SparseIndexerProblem {
        len_q: p.len_q,
        len_kv: p.len_kv,
        heads: p.heads,
        d: p.d,
        fp8: p.fp8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_json_round_trip() {
        for id in ["q7k40h4d32", "q1k1h1d1.fp8"] {
            let p = parse(id).unwrap();
            assert_eq!(problem_id(&p), id);
            assert_eq!(from_json(&to_json(&p).to_string()).unwrap(), p);
        }
        assert!(parse("q7k40h4").is_err());
        assert!(parse("q7k40h4d32.fp4").is_err());
    }
}
