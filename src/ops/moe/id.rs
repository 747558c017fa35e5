//! MoE problems as text: the case-id parts and the protocol JSON.
//!
//! - contiguous: `e8m256n64k96a16.idx.nt.zero` (experts, rows, n, k, alignment; `idx` for
//!   `m_indices` or `psum` for prefix-sum offsets; `nt` or `nn`; `zero` or `keep` for the
//!   padding rows), with `.fp8` appended for FP8 block-scaled operands;
//! - masked: `e4m16n33k65.nt.keep` (experts, max_m, n, k; layout; padding), `.fp8` likewise;
//! - routed: `t7e8n33k65.top2.nt` (tokens, experts, n, k; top-k; layout), `.fp8` likewise.

use crosscheck_spec::{
    Grouping, Layout, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem, Padding,
    b_layout_tag, parse_b_layout,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::case::labelled_numbers;
use crate::process::problem_json::{layout_name, parse_layout};

/// `e8m256n64k96a16.idx.nt.zero[.fp8]`.
pub fn contiguous_id(p: &MoeContiguousProblem) -> String {
    format!(
        "e{}m{}n{}k{}a{}.{}.{}.{}{}",
        p.experts,
        p.m,
        p.n,
        p.k,
        p.alignment,
        p.grouping.tag(),
        b_layout_tag(p.b_layout),
        p.padding.tag(),
        if p.fp8 { ".fp8" } else { "" }
    )
}

/// `e4m16n33k65.nt.keep[.fp8]`.
pub fn masked_id(p: &MoeMaskedProblem) -> String {
    format!(
        "e{}m{}n{}k{}.{}.{}{}",
        p.experts,
        p.max_m,
        p.n,
        p.k,
        b_layout_tag(p.b_layout),
        p.padding.tag(),
        if p.fp8 { ".fp8" } else { "" }
    )
}

/// `t7e8n33k65.top2.nt[.fp8]`.
pub fn routed_id(p: &MoeRoutedProblem) -> String {
    format!(
        "t{}e{}n{}k{}.top{}.{}{}",
        p.tokens,
        p.experts,
        p.n,
        p.k,
        p.top_k,
        b_layout_tag(p.b_layout),
        if p.fp8 { ".fp8" } else { "" }
    )
}

/// Splits `dims.tag.tag...[.fp8]` into the numbers (by `labels`), the tags and the FP8 flag.
fn fields<'a>(
    s: &'a str,
    labels: &[char],
    tags: usize,
    bad: &dyn Fn() -> String,
) -> Result<(Vec<usize>, Vec<&'a str>, bool), String> {
    let mut parts: Vec<&str> = s.split('.').collect();
    let fp8 = parts.last() == Some(&"fp8");
    if fp8 {
        parts.pop();
    }
    if parts.len() != tags + 1 {
        return Err(bad());
    }
    let values = labelled_numbers(parts[0], labels).ok_or_else(bad)?;
    Ok((values, parts[1..].to_vec(), fp8))
}

/// Parses [`contiguous_id`]'s form.
pub fn parse_contiguous(s: &str) -> Result<MoeContiguousProblem, String> {
    let bad = || {
        format!(
            "moe_contiguous problem `{s}` should look like e8m256n64k96a16.idx.nt.zero \
             (experts, rows, n, k, alignment; idx or psum; nt or nn; zero or keep; then .fp8 for FP8)"
        )
    };
    let (v, tags, fp8) = fields(s, &['e', 'm', 'n', 'k', 'a'], 3, &bad)?;
    Ok(MoeContiguousProblem {
        experts: v[0],
        m: v[1],
        n: v[2],
        k: v[3],
        alignment: v[4],
        grouping: Grouping::parse(tags[0]).ok_or_else(bad)?,
        b_layout: parse_b_layout(tags[1]).ok_or_else(bad)?,
        padding: Padding::parse(tags[2]).ok_or_else(bad)?,
        fp8,
    })
}

/// Parses [`masked_id`]'s form.
pub fn parse_masked(s: &str) -> Result<MoeMaskedProblem, String> {
    let bad = || {
        format!(
            "moe_masked problem `{s}` should look like e4m16n33k65.nt.keep \
             (experts, max_m, n, k; nt or nn; zero or keep; then .fp8 for FP8)"
        )
    };
    let (v, tags, fp8) = fields(s, &['e', 'm', 'n', 'k'], 2, &bad)?;
    Ok(MoeMaskedProblem {
        experts: v[0],
        max_m: v[1],
        n: v[2],
        k: v[3],
        b_layout: parse_b_layout(tags[0]).ok_or_else(bad)?,
        padding: Padding::parse(tags[1]).ok_or_else(bad)?,
        fp8,
    })
}

/// Parses [`routed_id`]'s form.
pub fn parse_routed(s: &str) -> Result<MoeRoutedProblem, String> {
    let bad = || {
        format!(
            "moe_routed problem `{s}` should look like t7e8n33k65.top2.nt \
             (tokens, experts, n, k; top-k; nt or nn; then .fp8 for FP8)"
        )
    };
    let (v, tags, fp8) = fields(s, &['t', 'e', 'n', 'k'], 2, &bad)?;
    let top_k = tags[0]
        .strip_prefix("top")
        .and_then(|t| t.parse().ok())
        .ok_or_else(bad)?;
    Ok(MoeRoutedProblem {
        tokens: v[0],
        experts: v[1],
        n: v[2],
        k: v[3],
        top_k,
        b_layout: parse_b_layout(tags[1]).ok_or_else(bad)?,
        fp8,
    })
}

/// The protocol JSON object of a contiguous problem.
pub fn contiguous_json(p: &MoeContiguousProblem) -> Value {
    json!({
        "experts": p.experts, "m": p.m, "n": p.n, "k": p.k, "alignment": p.alignment,
        "grouping": p.grouping.name(), "padding": p.padding.name(),
        "b_layout": layout_name(p.b_layout), "fp8": p.fp8,
    })
}

/// The protocol JSON object of a masked problem.
pub fn masked_json(p: &MoeMaskedProblem) -> Value {
    json!({
        "experts": p.experts, "max_m": p.max_m, "n": p.n, "k": p.k,
        "padding": p.padding.name(), "b_layout": layout_name(p.b_layout), "fp8": p.fp8,
    })
}

/// The protocol JSON object of a routed problem.
pub fn routed_json(p: &MoeRoutedProblem) -> Value {
    json!({
        "tokens": p.tokens, "experts": p.experts, "top_k": p.top_k, "n": p.n, "k": p.k,
        "b_layout": layout_name(p.b_layout), "fp8": p.fp8,
    })
}

fn col() -> String {
    "col".into()
}

fn zero() -> String {
    "zero".into()
}

#[derive(Deserialize)]
struct ContiguousJson {
    experts: usize,
    m: usize,
    n: usize,
    k: usize,
    alignment: usize,
    grouping: String,
    #[serde(default = "zero")]
    padding: String,
    #[serde(default = "col")]
    b_layout: String,
    #[serde(default)]
    fp8: bool,
}

#[derive(Deserialize)]
struct MaskedJson {
    experts: usize,
    max_m: usize,
    n: usize,
    k: usize,
    #[serde(default = "zero")]
    padding: String,
    #[serde(default = "col")]
    b_layout: String,
    #[serde(default)]
    fp8: bool,
}

#[derive(Deserialize)]
struct RoutedJson {
    tokens: usize,
    experts: usize,
    top_k: usize,
    n: usize,
    k: usize,
    #[serde(default = "col")]
    b_layout: String,
    #[serde(default)]
    fp8: bool,
}

fn padding(s: &str) -> Result<Padding, String> {
    Padding::parse(s).ok_or_else(|| format!("padding `{s}`: use zero or untouched"))
}

fn layout(s: &str) -> Result<Layout, String> {
    parse_layout(s)
}

/// Parses [`contiguous_json`]'s object (`padding` defaults to zero, `b_layout` to col, i.e.
/// DeepGEMM's nt, `fp8` to false).
pub fn contiguous_from_json(json: &str) -> Result<MoeContiguousProblem, String> {
    let p: ContiguousJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(MoeContiguousProblem {
        experts: p.experts,
        m: p.m,
        n: p.n,
        k: p.k,
        alignment: p.alignment,
        grouping: Grouping::parse(&p.grouping)
            .ok_or_else(|| format!("grouping `{}`: use indices or offsets", p.grouping))?,
        padding: padding(&p.padding)?,
        b_layout: layout(&p.b_layout)?,
        fp8: p.fp8,
    })
}

/// Parses [`masked_json`]'s object.
pub fn masked_from_json(json: &str) -> Result<MoeMaskedProblem, String> {
    let p: MaskedJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(MoeMaskedProblem {
        experts: p.experts,
        max_m: p.max_m,
        n: p.n,
        k: p.k,
        padding: padding(&p.padding)?,
        b_layout: layout(&p.b_layout)?,
        fp8: p.fp8,
    })
}

/// Parses [`routed_json`]'s object.
pub fn routed_from_json(json: &str) -> Result<MoeRoutedProblem, String> {
    let p: RoutedJson = serde_json::from_str(json).map_err(|e| format!("problem: {e}"))?;
    Ok(MoeRoutedProblem {
        tokens: p.tokens,
        experts: p.experts,
        top_k: p.top_k,
        n: p.n,
        k: p.k,
        b_layout: layout(&p.b_layout)?,
        fp8: p.fp8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_json_round_trip() {
        for id in [
            "e8m256n64k96a16.idx.nt.zero",
            "e3m96n33k129a32.psum.nt.keep.fp8",
            "e1m1n1k1a1.idx.nn.keep",
        ] {
            let p = parse_contiguous(id).unwrap();
            assert_eq!(contiguous_id(&p), id);
            let json = contiguous_json(&p).to_string();
            assert_eq!(contiguous_from_json(&json).unwrap(), p);
        }
        for id in ["e4m16n33k65.nt.keep", "e6m20n33k129.nt.zero.fp8"] {
            let p = parse_masked(id).unwrap();
            assert_eq!(masked_id(&p), id);
            assert_eq!(masked_from_json(&masked_json(&p).to_string()).unwrap(), p);
        }
        for id in ["t7e8n33k65.top2.nn", "t3e8n33k129.top2.nt.fp8"] {
            let p = parse_routed(id).unwrap();
            assert_eq!(routed_id(&p), id);
            assert_eq!(p.top_k, 2);
            assert_eq!(routed_from_json(&routed_json(&p).to_string()).unwrap(), p);
        }
    }

    #[test]
    fn malformed_ids_say_what_they_should_look_like() {
        for bad in [
            "e8m256n64k96.idx.nt.zero",
            "e8m256n64k96a16.idx.nt",
            "e8m256n64k96a16.grp.nt.zero",
            "e8m256n64k96a16.idx.tn.zero",
            "e8m256n64k96a16.idx.nt.maybe",
        ] {
            assert!(
                parse_contiguous(bad).unwrap_err().contains("e8m256"),
                "{bad}"
            );
        }
        assert!(parse_routed("t7e8n33k65.top2.nt.fp8.fp8").is_err());
        assert!(parse_routed("t7e8n33k65.topx.nt").is_err());
        assert!(parse_masked("e4m16n33k65.nt").is_err());
    }
}
