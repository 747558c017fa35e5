//! The handshake's declaration: a backend's name, device, kernels, variants and declared
//! numeric contracts, as JSON, checked and turned into the spec's types.

use std::collections::BTreeSet;

use crosscheck_spec::{
    Accumulator, Arithmetic, DeviceInfo, KernelInfo, NonFinite, NumericContract, Op,
    OutputRounding, Precision, Softmax, Subnormals, Variant, VariantInfo,
};
use serde::Deserialize;

/// What a process declares about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    /// Backend name in the matrix and in case ids.
    pub name: String,
    /// The device behind it.
    pub device: DeviceInfo,
    /// Its kernels, variants and contracts.
    pub kernels: Vec<KernelInfo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendJson {
    name: String,
    device: DeviceJson,
    kernels: Vec<KernelJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceJson {
    api: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    driver: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelJson {
    op: String,
    name: String,
    #[serde(default)]
    summary: String,
    variants: Vec<VariantJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantJson {
    variant: String,
    #[serde(default)]
    contract: ContractJson,
    #[serde(default)]
    unavailable: Option<String>,
}

/// A declared numeric contract as JSON: every key optional, defaults from
/// [`NumericContract::IEEE_F32`]. See `docs/protocol.md`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractJson {
    accumulator: Option<String>,
    output_rounding: Option<String>,
    subnormals: Option<String>,
    exp_ulp: Option<f64>,
    exp_ulp_per_unit: Option<f64>,
    div_ulp: Option<f64>,
    inverse_sqrt_ulp: Option<f64>,
    softmax: Option<String>,
    key_tile: Option<usize>,
    deterministic: Option<bool>,
    batch_invariant: Option<bool>,
    chunk_invariant: Option<bool>,
    matches_unfused: Option<bool>,
    split_invariant: Option<bool>,
    arithmetic: Option<String>,
    non_finite: Option<String>,
    scale_rule: Option<String>,
    element_rounding: Option<String>,
}

impl ContractJson {
    /// The contract this declares, or what is wrong with it.
    pub fn contract(&self) -> Result<NumericContract, String> {
        let base = NumericContract::IEEE_F32;
        let accumulator = match self.accumulator.as_deref() {
            None => base.accumulator,
            Some("f16") => Accumulator::F16,
            Some("f32") => Accumulator::F32,
            Some("f64") => Accumulator::F64,
            Some("i32") => Accumulator::I32,
            Some(other) => return Err(format!("accumulator `{other}` (use f16, f32, f64 or i32)")),
        };
        let output_rounding = match self.output_rounding.as_deref() {
            None => base.output_rounding,
            Some("nearest-even") => OutputRounding::NearestEven,
            Some("faithful") => OutputRounding::Faithful,
            Some(other) => {
                return Err(format!(
                    "output_rounding `{other}` (use nearest-even or faithful)"
                ));
            }
        };
        let subnormals = match self.subnormals.as_deref() {
            None => base.subnormals,
            Some("preserved") => Subnormals::Preserved,
            Some("may-flush") => Subnormals::MayFlush,
            Some(other) => {
                return Err(format!("subnormals `{other}` (use preserved or may-flush)"));
            }
        };
        let arithmetic = match self.arithmetic.as_deref() {
            None => base.arithmetic,
            Some("nearest") => Arithmetic::Nearest,
            Some("faithful") => Arithmetic::Faithful,
            Some(other) => return Err(format!("arithmetic `{other}` (use nearest or faithful)")),
        };
        let non_finite = match self.non_finite.as_deref() {
            None => base.non_finite,
            Some("ieee") => NonFinite::Ieee,
            Some("finite-only") => NonFinite::FiniteOnly,
            Some(other) => return Err(format!("non_finite `{other}` (use ieee or finite-only)")),
        };
        let scale_rule = match self.scale_rule.as_deref() {
            None => base.scale_rule,
            Some(rule) => rule
                .parse()
                .map_err(|e: String| format!("scale_rule: {e}"))?,
        };
        let element_rounding = match self.element_rounding.as_deref() {
            None => base.element_rounding,
            Some(rounding) => rounding
                .parse()
                .map_err(|e: String| format!("element_rounding: {e}"))?,
        };
        let softmax = match (self.softmax.as_deref(), self.key_tile) {
            (None | Some("two-pass"), None) => Softmax::TwoPass,
            (Some("online"), Some(key_tile)) if key_tile >= 1 => Softmax::Online { key_tile },
            (Some("online"), _) => return Err("softmax `online` needs a key_tile ≥ 1".into()),
            (None | Some("two-pass"), Some(_)) => {
                return Err("key_tile is only meaningful with softmax `online`".into());
            }
            (Some(other), _) => return Err(format!("softmax `{other}` (use two-pass or online)")),
        };
        let ulps = |name: &str, value: Option<f64>, default: f64| match value {
            None => Ok(default),
            Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Some(v) => Err(format!("{name} {v} (must be finite and ≥ 0)")),
        };
        let mut functions = base.functions;
        functions.exp_ulp = ulps("exp_ulp", self.exp_ulp, functions.exp_ulp)?;
        functions.exp_ulp_per_unit = ulps(
            "exp_ulp_per_unit",
            self.exp_ulp_per_unit,
            functions.exp_ulp_per_unit,
        )?;
        functions.div_ulp = ulps("div_ulp", self.div_ulp, functions.div_ulp)?;
        functions.inverse_sqrt_ulp = ulps(
            "inverse_sqrt_ulp",
            self.inverse_sqrt_ulp,
            functions.inverse_sqrt_ulp,
        )?;
        Ok(NumericContract {
            accumulator,
            output_rounding,
            subnormals,
            functions,
            softmax,
            deterministic: self.deterministic.unwrap_or(base.deterministic),
            batch_invariant: self.batch_invariant.unwrap_or(base.batch_invariant),
            chunk_invariant: self.chunk_invariant.unwrap_or(base.chunk_invariant),
            matches_unfused: self.matches_unfused.unwrap_or(base.matches_unfused),
            split_invariant: self.split_invariant.unwrap_or(base.split_invariant),
            arithmetic,
            non_finite,
            scale_rule,
            element_rounding,
        })
    }

    /// Parses a contract JSON document.
    pub fn parse(json: &str) -> Result<NumericContract, String> {
        let parsed: ContractJson =
            serde_json::from_str(json).map_err(|e| format!("contract: {e}"))?;
        parsed.contract().map_err(|e| format!("contract: {e}"))
    }
}

/// True for a name usable as a backend name: lower-case letters, digits, `-` and `_`,
/// starting with a letter or digit, at most 64 characters.
pub fn valid_backend_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// True for a name usable as a kernel name: letters, digits, `-` and `_`.
fn valid_kernel_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Declaration {
    /// Parses and checks a declaration.
    pub fn parse(json: &str) -> Result<Declaration, String> {
        let raw: BackendJson =
            serde_json::from_str(json).map_err(|e| format!("the declaration is malformed: {e}"))?;
        if !valid_backend_name(&raw.name) {
            return Err(format!(
                "backend name `{}`: use lower-case letters, digits, `-` and `_` (at most 64)",
                raw.name
            ));
        }
        if raw.kernels.is_empty() {
            return Err(format!("backend `{}` declares no kernels", raw.name));
        }
        let mut seen = BTreeSet::new();
        let mut kernels = Vec::new();
        for k in raw.kernels {
            let op: Op = k.op.parse()?;
            let label = format!("{op}/{}", k.name);
            if !valid_kernel_name(&k.name) {
                return Err(format!(
                    "kernel name `{}`: use letters, digits, `-` and `_`",
                    k.name
                ));
            }
            if !seen.insert(label.clone()) {
                return Err(format!("kernel {label} is declared twice"));
            }
            if k.variants.is_empty() {
                return Err(format!("kernel {label} declares no variants"));
            }
            let mut variants: Vec<VariantInfo> = Vec::new();
            for v in k.variants {
                let variant: Variant = v.variant.parse().map_err(|e| format!("{label}: {e}"))?;
                let codec = matches!(op, Op::Quantize | Op::Dequantize);
                if codec && variant != Variant::portable(Precision::F32) {
                    return Err(format!(
                        "{label}: quantize and dequantize have the single variant f32, not {variant}"
                    ));
                }
                // A quantized matmul's unquantized activations and its output are f32, or bf16
                // in the bf16 variant (W4A16 as real GEMMs run it).
                let w4a16 = [Precision::F32, Precision::BF16].map(Variant::portable);
                if op == Op::QuantMatmul && !w4a16.contains(&variant) {
                    return Err(format!(
                        "{label}: quantized matmuls have the variants f32 and bf16, not {variant}"
                    ));
                }
                if variants.iter().any(|x| x.variant == variant) {
                    return Err(format!("{label}: variant {variant} is declared twice"));
                }
                let contract = v
                    .contract
                    .contract()
                    .map_err(|e| format!("{label} {variant}: {e}"))?;
                variants.push(VariantInfo {
                    variant,
                    contract,
                    unavailable: v.unavailable,
                });
            }
            kernels.push(KernelInfo {
                op,
                name: k.name,
                summary: k.summary,
                variants,
            });
        }
        Ok(Declaration {
            name: raw.name,
            device: DeviceInfo {
                api: raw.device.api,
                device: raw.device.device,
                driver: raw.device.driver,
            },
            kernels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"name": "np-1", "device": {"api": "numpy"},
        "kernels": [{"op": "attention", "name": "np", "variants": [
            {"variant": "f32", "contract": {"softmax": "online", "key_tile": 64, "exp_ulp": 2,
                "arithmetic": "faithful", "non_finite": "finite-only"}},
            {"variant": "bf16", "unavailable": "no bf16 here"}]}]}"#;

    #[test]
    fn declarations_parse_with_ieee_defaults() {
        let d = Declaration::parse(GOOD).unwrap();
        assert_eq!(d.name, "np-1");
        let k = &d.kernels[0];
        assert_eq!(k.label(), "attention/np");
        let c = k.variants[0].contract;
        assert_eq!(c.softmax, Softmax::Online { key_tile: 64 });
        assert_eq!(c.functions.exp_ulp, 2.0);
        assert_eq!(c.accumulator, Accumulator::F32);
        assert_eq!(c.arithmetic, Arithmetic::Faithful);
        assert_eq!(c.non_finite, NonFinite::FiniteOnly);
        assert_eq!(k.variants[1].unavailable.as_deref(), Some("no bf16 here"));
    }

    #[test]
    fn mx_quantizers_declare_their_scale_rule_and_rounding() {
        let d = Declaration::parse(&GOOD.replace(
            r#""softmax": "online", "key_tile": 64,"#,
            r#""scale_rule": "rceil", "element_rounding": "away","#,
        ))
        .unwrap();
        let c = d.kernels[0].variants[0].contract;
        assert_eq!(c.scale_rule, crosscheck_spec::ScaleRule::Rceil);
        assert_eq!(c.element_rounding, crosscheck_spec::ElementRounding::Away);
        let e = Declaration::parse(&GOOD.replace(
            r#""softmax": "online", "key_tile": 64,"#,
            r#""scale_rule": "round","#,
        ))
        .unwrap_err();
        assert!(e.contains("scale_rule") && e.contains("rceil"), "{e}");
    }

    #[test]
    fn quantized_matmuls_may_declare_bf16() {
        let d = Declaration::parse(&GOOD.replace("attention", "qmatmul")).unwrap();
        assert_eq!(
            d.kernels[0].variants[1].variant,
            Variant::portable(Precision::BF16)
        );
    }

    #[test]
    fn bad_declarations_say_what_is_wrong() {
        let cases = [
            (GOOD.replace("np-1", "Np:1"), "backend name"),
            (GOOD.replace("\"np\"", "\"n.p\""), "kernel name"),
            (GOOD.replace("attention", "conv"), "unknown op"),
            (GOOD.replace("\"f32\"", "\"f64\""), "unknown precision"),
            (
                GOOD.replace("\"key_tile\": 64", "\"tile\": 64"),
                "unknown field",
            ),
            (GOOD.replace("\"online\"", "\"three-pass\""), "softmax"),
            (GOOD.replace("\"exp_ulp\": 2", "\"exp_ulp\": -1"), "exp_ulp"),
            (GOOD.replace("\"faithful\"", "\"upward\""), "arithmetic"),
            (
                GOOD.replace("\"finite-only\"", "\"saturate\""),
                "non_finite",
            ),
            (GOOD.replace("\"bf16\"", "\"f32\""), "declared twice"),
            (GOOD.replace("attention", "quantize"), "single variant"),
            (
                GOOD.replace("attention", "qmatmul")
                    .replace("\"bf16\"", "\"f16\""),
                "variants f32 and bf16",
            ),
        ];
        for (json, want) in cases {
            let err = Declaration::parse(&json).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
