//! An MLA problem as text: the case-id part `b2h16q1l512r64p64m4.causal.fp8.s0.125` and the
//! protocol JSON.

use crosscheck_spec::MlaProblem;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;

/// `b2h16q1l512r64p64m4[.causal][.fp8][.s0.125]`: batch, query heads, queries per sequence,
/// latent and rope widths, page size and block-table entries per sequence, then the flags and a
/// custom scale.
pub fn problem_id(p: &MlaProblem) -> String {
    let mut id = format!(
        "b{}h{}q{}l{}r{}p{}m{}",
        p.batch, p.heads_q, p.seq_q, p.d_latent, p.d_rope, p.page, p.blocks
    );
    if p.causal {
        id.push_str(".causal");
    }
    if p.fp8 {
        id.push_str(".fp8");
    }
    if let Some(scale) = p.custom_scale() {
        id.push_str(&format!(".s{scale}"));
    }
    id
}

/// Parses [`problem_id`]'s text (the scale, which has a dot, comes last).
pub fn parse(s: &str) -> Result<MlaProblem, String> {
    let bad = || {
        format!(
            "mla problem `{s}` should look like b2h16q1l512r64p64m4, optionally followed by .causal, .fp8 and .s0.125"
        )
    };
    let (rest, scale) = match s.split_once(".s") {
        Some((rest, scale)) => (rest, Some(scale.parse::<f32>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let mut fields = rest.split('.');
    let dims = fields.next().ok_or_else(bad)?;
    let v = labelled_numbers(dims, &['b', 'h', 'q', 'l', 'r', 'p', 'm']).ok_or_else(bad)?;
    let (mut causal, mut fp8) = (false, false);
    for flag in fields {
        match flag {
            "causal" if !causal && !fp8 => causal = true,
            "fp8" if !fp8 => fp8 = true,
            _ => return Err(bad()),
        }
    }
    Ok(MlaProblem {
        batch: v[0],
        heads_q: v[1],
        seq_q: v[2],
        d_latent: v[3],
        d_rope: v[4],
        page: v[5],
        blocks: v[6],
        causal,
        fp8,
        scale_bits: scale.map(f32::to_bits),
    })
}

/// The protocol JSON object (the scale always resolved; `custom_scale` says whether it was set).
pub fn to_json(p: &MlaProblem) -> Value {
    json!({
        "batch": p.batch, "heads_q": p.heads_q, "seq_q": p.seq_q,
        "d_latent": p.d_latent, "d_rope": p.d_rope, "page": p.page, "blocks": p.blocks,
        "causal": p.causal, "fp8": p.fp8,
        "scale": p.custom_scale().map_or(1.0 / (p.d_qk() as f64).sqrt(), f64::from),
        "custom_scale": p.scale_bits.is_some(),
    })
}

#[derive(Deserialize)]
struct MlaJson {
    batch: usize,
    heads_q: usize,
    seq_q: usize,
    d_latent: usize,
    d_rope: usize,
    page: usize,
    blocks: usize,
    #[serde(default)]
    causal: bool,
    #[serde(default)]
    fp8: bool,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    custom_scale: bool,
}

/// Parses [`to_json`]'s object: a custom scale must be an f32 value.
pub fn from_json(json: &str) -> Result<MlaProblem, String> {
    let p: MlaJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
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
    Ok(MlaProblem {
        batch: p.batch,
        heads_q: p.heads_q,
        seq_q: p.seq_q,
        d_latent: p.d_latent,
        d_rope: p.d_rope,
        page: p.page,
        blocks: p.blocks,
        causal: p.causal,
        fp8: p.fp8,
        scale_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_json_round_trip() {
        for text in [
            "b1h1q1l1r0p1m1",
            "b2h128q1l512r64p64m4.fp8",
            "b3h16q4l64r8p16m3.causal.s0.125",
        ] {
            let p = parse(text).unwrap();
            assert_eq!(problem_id(&p), text);
            assert_eq!(from_json(&to_json(&p).to_string()).unwrap(), p);
        }
        assert!(parse("b1h1q1l1r0p1").is_err());
        assert!(parse("b1h1q1l1r0p1m1.fp8.causal").is_err());
    }
}
