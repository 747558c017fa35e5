//! Quantized problems as text: `q8_0.r3c64` (quantize and dequantize: format, rows, columns),
//! `q4_0.m2n5k64` (quantized matmul: weight format, m, n, k), `mxfp4+fp8-e4m3-1x128.m2n5k64`
//! (a quantized matmul whose activations are not the weights' default: weights+activations),
//! and their protocol JSON.

use crosscheck_spec::{QuantFormat, QuantMatmulProblem, QuantizeProblem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `q8_0.r3c64`.
pub fn quantize_id(p: &QuantizeProblem) -> String {
    format!("{}.r{}c{}", p.format, p.rows, p.cols)
}

/// `q4_0.m2n5k64`, or `mxfp4+fp8-e4m3-1x128.m2n5k64` with chosen activations.
pub fn qmatmul_id(p: &QuantMatmulProblem) -> String {
    let formats = match p.activation_choice {
        Some(a) => format!("{}+{a}", p.weights),
        None => p.weights.to_string(),
    };
    format!("{formats}.m{}n{}k{}", p.m, p.n, p.k)
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

/// Parses `q4_0.m2n5k64` (weight format, m, n, k) or `mxfp4+fp8-e4m3-1x128.m2n5k64` (weight
/// format + activation format, m, n, k).
pub fn parse_qmatmul(s: &str) -> Result<QuantMatmulProblem, String> {
    let bad = || {
        format!(
            "qmatmul problem `{s}` should look like q4_0.m2n5k64 (weights.m.n.k) or \
             mxfp4+fp8-e4m3-1x128.m2n5k64 (weights+activations.m.n.k)"
        )
    };
    let (formats, dims) = s.rsplit_once('.').ok_or_else(bad)?;
    let values = labelled_numbers(dims, &['m', 'n', 'k']).ok_or_else(bad)?;
    let (weights, activations) = match formats.split_once('+') {
        Some((w, a)) => (w, Some(a.parse()?)),
        None => (formats, None),
    };
    Ok(QuantMatmulProblem {
        weights: weights.parse()?,
        activation_choice: activations,
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
    /// The activations' format, `null` for unquantized ones; absent means the weights' default.
    #[serde(default)]
    activations: Option<String>,
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

/// Parses [`qmatmul_json`]'s object. `activations` may be absent or name the weights' default
/// (as every object before W4A8 did); a format the weights admit besides their default
/// ([`QuantMatmulProblem::alternative_activations`]) chooses it; anything else is an error.
pub fn qmatmul_from_json(json: &str) -> Result<QuantMatmulProblem, String> {
    let p: QuantMatmulJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    let mut problem = QuantMatmulProblem::new(p.weights.parse()?, p.m, p.n, p.k);
    let named = match p.activations.as_deref() {
        Some(name) => Some(name.parse::<QuantFormat>()?),
        None => None,
    };
    if named != problem.activations() {
        problem.activation_choice = named;
        let admitted = named.is_some_and(|a| {
            QuantMatmulProblem::alternative_activations(problem.weights).contains(&a)
        });
        if !admitted {
            return Err(format!(
                "problem: {} weights do not take {} activations",
                problem.weights,
                named.map_or("unquantized", |a| a.name())
            ));
        }
    }
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids and protocol objects written before activations could be chosen parse to the same
    /// problems, and round-trip.
    #[test]
    fn old_ids_and_json_still_parse() {
        for (id, weights) in [
            ("q4_0.m2n5k64", QuantFormat::Q4_0),
            ("mxfp4.m1n64k256", QuantFormat::MxFp4),
            ("fp8-e4m3-128x128.m5n7k129", QuantFormat::Fp8E4M3Block),
            ("mxfp8-e5m2.m3n9k64", QuantFormat::MxFp8E5M2),
        ] {
            let p = parse_qmatmul(id).unwrap();
            assert_eq!(p.weights, weights);
            assert_eq!(p.activation_choice, None);
            assert_eq!(qmatmul_id(&p), id);
            let json = qmatmul_json(&p).to_string();
            assert_eq!(qmatmul_from_json(&json).unwrap(), p);
        }
        let old = r#"{"weights": "int8", "activations": "int8", "m": 9, "n": 17, "k": 33}"#;
        let p = qmatmul_from_json(old).unwrap();
        assert_eq!(p, QuantMatmulProblem::new(QuantFormat::Int8, 9, 17, 33));
        let old = r#"{"weights": "mxfp4", "activations": null, "m": 1, "n": 2, "k": 32}"#;
        assert_eq!(
            qmatmul_from_json(old).unwrap(),
            QuantMatmulProblem::new(QuantFormat::MxFp4, 1, 2, 32)
        );
        let bare = r#"{"weights": "q8_0", "m": 1, "n": 2, "k": 32}"#;
        assert_eq!(
            qmatmul_from_json(bare).unwrap(),
            QuantMatmulProblem::new(QuantFormat::Q8_0, 1, 2, 32)
        );
    }

    #[test]
    fn chosen_activations_round_trip_and_wrong_ones_are_refused() {
        let id = "mxfp4+fp8-e4m3-1x128.m3n17k320";
        let p = parse_qmatmul(id).unwrap();
        assert_eq!(p.activation_choice, Some(QuantFormat::Fp8E4M3Tile));
        assert_eq!(qmatmul_id(&p), id);
        let json = qmatmul_json(&p);
        assert_eq!(json["activations"], "fp8-e4m3-1x128");
        assert_eq!(qmatmul_from_json(&json.to_string()).unwrap(), p);
        let wrong =
            r#"{"weights": "q8_0", "activations": "fp8-e4m3-1x128", "m": 1, "n": 2, "k": 32}"#;
        assert!(qmatmul_from_json(wrong).is_err());
        let wrong = r#"{"weights": "int8", "activations": null, "m": 1, "n": 2, "k": 32}"#;
        assert!(qmatmul_from_json(wrong).is_err());
        assert!(parse_qmatmul("mxfp4+nope.m1n1k32").is_err());
    }
}
