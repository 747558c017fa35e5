//! A sparse attention problem as text: the case-id part `q7k40h4g1d64v32t16.s0.5` (`.fp8` for
//! FlashMLA's FP8 KV cache) and the protocol JSON.

use crosscheck_spec::SparseAttentionProblem;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `q7k40h4g1d64v32t16[.fp8][.s0.5]`: query and key tokens, query and kv heads, head widths,
/// index list slots, the FP8 KV-cache layout, then a custom scale.
pub fn problem_id(p: &SparseAttentionProblem) -> String {
    let mut id = format!(
        "q{}k{}h{}g{}d{}v{}t{}",
        p.len_q, p.len_kv, p.heads_q, p.heads_kv, p.d_qk, p.d_v, p.topk
    );
    if p.fp8 {
        id.push_str(".fp8");
    }
    if let Some(scale) = p.custom_scale() {
        id.push_str(&format!(".s{scale}"));
    }
    id
}

/// Parses `q7k40h4g1d64v32t16[.fp8][.s0.5]`.
pub fn parse(s: &str) -> Result<SparseAttentionProblem, String> {
    let bad = || {
        format!(
            "sparse problem `{s}` should look like q7k40h4g1d64v32t16, optionally followed by .fp8 and .s0.5"
        )
    };
    let (s, fp8) = match s.split_once(".fp8") {
        Some((dims, rest)) => (format!("{dims}{rest}"), true),
        None => (s.to_string(), false),
    };
    let s = s.as_str();
    let (dims, scale) = match s.split_once(".s") {
        Some((dims, scale)) => (dims, Some(scale.parse::<f32>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let v = labelled_numbers(dims, &['q', 'k', 'h', 'g', 'd', 'v', 't']).ok_or_else(bad)?;
    Ok(SparseAttentionProblem {
        len_q: v[0],
        len_kv: v[1],
        heads_q: v[2],
        heads_kv: v[3],
        d_qk: v[4],
        d_v: v[5],
        topk: v[6],
        scale_bits: scale.map(f32::to_bits),
        fp8,
    })
}

/// The protocol JSON object (the scale always resolved; `custom_scale` says whether it was set).
pub fn to_json(p: &SparseAttentionProblem) -> Value {
    json!({
        "len_q": p.len_q, "len_kv": p.len_kv, "heads_q": p.heads_q, "heads_kv": p.heads_kv,
        "d_qk": p.d_qk, "d_v": p.d_v, "topk": p.topk,
        "scale": p.custom_scale().map_or(1.0 / (p.d_qk as f64).sqrt(), f64::from),
        "custom_scale": p.scale_bits.is_some(), "fp8": p.fp8,
    })
}

#[derive(Deserialize)]
struct SparseJson {
    len_q: usize,
    len_kv: usize,
    heads_q: usize,
    heads_kv: usize,
    d_qk: usize,
    d_v: usize,
    topk: usize,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    custom_scale: bool,
    #[serde(default)]
    fp8: bool,
}

/// Parses [`to_json`]'s object: a custom scale must be an f32 value.
pub fn from_json(json: &str) -> Result<SparseAttentionProblem, String> {
    let p: SparseJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
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
    Ok(SparseAttentionProblem {
        len_q: p.len_q,
        len_kv: p.len_kv,
        heads_q: p.heads_q,
        heads_kv: p.heads_kv,
        d_qk: p.d_qk,
        d_v: p.d_v,
        topk: p.topk,
        scale_bits,
        fp8: p.fp8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_json_round_trip() {
        for id in [
            "q7k40h4g1d64v32t16",
            "q1k1h1g1d1v1t1.s0.5",
            "q2k9h2g1d144v128t5.fp8",
            "q2k9h2g1d144v128t5.fp8.s0.5",
        ] {
            let p = parse(id).unwrap();
            assert_eq!(problem_id(&p), id);
            assert_eq!(from_json(&to_json(&p).to_string()).unwrap(), p);
        }
        assert!(parse("q7k40h4g1d64v32").is_err());
        assert!(parse("q7k40h4g1d64v32t16.causal").is_err());
    }
}
