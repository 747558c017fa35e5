//! An attention problem as text: the case-id part `b1h8g2q17k33d64v64.causal.w16.s0.125` and
//! the protocol JSON.

use crosscheck_spec::AttentionProblem;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `b1h8g2q17k33d64v64[.causal][.w16][.s0.125]`: batch, query heads, kv heads, query and key
/// lengths, head widths, then the mask flags and a custom scale.
pub fn problem_id(p: &AttentionProblem) -> String {
    let mut id = format!(
        "b{}h{}g{}q{}k{}d{}v{}",
        p.batch, p.heads_q, p.heads_kv, p.len_q, p.len_kv, p.d_qk, p.d_v
    );
    if p.causal {
        id.push_str(".causal");
    }
    if let Some(w) = p.window {
        id.push_str(&format!(".w{w}"));
    }
    if let Some(scale) = p.custom_scale() {
        id.push_str(&format!(".s{scale}"));
    }
    id
}

/// Parses `b1h8g2q17k33d64v64[.causal][.w16][.s0.125]` (the scale, which has a dot, comes last).
pub fn parse(s: &str) -> Result<AttentionProblem, String> {
    let bad = || {
        format!(
            "attention problem `{s}` should look like b1h8g2q17k33d64v64, optionally followed by .causal, .w16 and .s0.125"
        )
    };
    let (rest, scale) = match s.split_once(".s") {
        Some((rest, scale)) => (rest, Some(scale.parse::<f32>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let mut fields = rest.split('.');
    let dims = fields.next().ok_or_else(bad)?;
    let values = labelled_numbers(dims, &['b', 'h', 'g', 'q', 'k', 'd', 'v']).ok_or_else(bad)?;
    let (mut causal, mut window) = (false, None);
    for flag in fields {
        match flag {
            "causal" if !causal && window.is_none() => causal = true,
            w if w.starts_with('w') && window.is_none() => {
                window = Some(w[1..].parse().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        }
    }
    Ok(AttentionProblem {
        batch: values[0],
        heads_q: values[1],
        heads_kv: values[2],
        len_q: values[3],
        len_kv: values[4],
        d_qk: values[5],
        d_v: values[6],
        causal,
        window,
        scale_bits: scale.map(f32::to_bits),
    })
}

/// The protocol JSON object (the scale always resolved; `custom_scale` says whether it was set).
pub fn to_json(p: &AttentionProblem) -> Value {
    json!({
        "batch": p.batch, "heads_q": p.heads_q, "heads_kv": p.heads_kv,
        "len_q": p.len_q, "len_kv": p.len_kv, "d_qk": p.d_qk, "d_v": p.d_v,
        "causal": p.causal, "window": p.window,
        "scale": p.custom_scale().map_or(1.0 / (p.d_qk as f64).sqrt(), f64::from),
        "custom_scale": p.scale_bits.is_some(),
    })
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

/// Parses [`to_json`]'s object: a custom scale must be an f32 value; `window` 0 means none.
pub fn from_json(json: &str) -> Result<AttentionProblem, String> {
    let p: AttentionJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
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
    Ok(AttentionProblem {
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
