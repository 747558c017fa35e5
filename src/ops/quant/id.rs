//! Quantized problems as text: `q8_0.r3c64` (quantize and dequantize: format, rows, columns),
//! `q4_0.m2n5k64` (quantized matmul: weight format, m, n, k), and their protocol JSON.

use crosscheck_spec::{QuantMatmulProblem, QuantizeProblem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `q8_0.r3c64`.
pub fn quantize_id(p: &QuantizeProblem) -> String {
    format!("{}.r{}c{}", p.format, p.rows, p.cols)
}

/// `q4_0.m2n5k64`.
pub fn qmatmul_id(p: &QuantMatmulProblem) -> String {
    format!("{}.m{}n{}k{}", p.weights, p.m, p.n, p.k)
}

/// Parses `q8_0.r3c64`: format, rows, columns.
pub fn parse_quantize(s: &str) -> Result<QuantizeProblem, String> {
    let bad = || format!("quantized problem `{s}` should look like q8_0.r3c64 (format.rows.cols)");
    let (format, dims) = s.rsplit_once('.').ok_or_else(bad)?;
    let values = labelled_numbers(dims, &['r', 'c']).ok_or_else(bad)?;
    Ok(QuantizeProblem {
        format: format.parse()?,
        rows: values[0],
        cols: values[1],
    })
}

/// Parses `q4_0.m2n5k64`: weight format, m, n, k.
pub fn parse_qmatmul(s: &str) -> Result<QuantMatmulProblem, String> {
    let bad = || format!("qmatmul problem `{s}` should look like q4_0.m2n5k64 (weights.m.n.k)");
    let (weights, dims) = s.rsplit_once('.').ok_or_else(bad)?;
    let values = labelled_numbers(dims, &['m', 'n', 'k']).ok_or_else(bad)?;
    Ok(QuantMatmulProblem {
        weights: weights.parse()?,
        m: values[0],
        n: values[1],
        k: values[2],
    })
}

/// The protocol JSON object of a quantize or dequantize problem.
pub fn quantize_json(p: &QuantizeProblem) -> Value {
    json!({ "format": p.format.name(), "rows": p.rows, "cols": p.cols })
}

/// The protocol JSON object of a quantized matmul.
pub fn qmatmul_json(p: &QuantMatmulProblem) -> Value {
    json!({
        "weights": p.weights.name(),
        "activations": p.activations().map(|f| f.name()),
        "m": p.m, "n": p.n, "k": p.k,
    })
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

/// Parses [`quantize_json`]'s object.
pub fn quantize_from_json(json: &str) -> Result<QuantizeProblem, String> {
    let p: QuantizeJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(QuantizeProblem {
        format: p.format.parse()?,
        rows: p.rows,
        cols: p.cols,
    })
}

/// Parses [`qmatmul_json`]'s object (the activations follow from the weights).
pub fn qmatmul_from_json(json: &str) -> Result<QuantMatmulProblem, String> {
    let p: QuantMatmulJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(QuantMatmulProblem {
        weights: p.weights.parse()?,
        m: p.m,
        n: p.n,
        k: p.k,
    })
}
