//! One reproducible case: what to run where, and the one-line id that names it.
//!
//! An id looks like `matmul.tiled:wgpu-vulkan:f16:b2m17n33k5.rc.bcast:normal:0x2a` —
//! op.kernel, backend, variant, problem, input distribution, seed — and `crosscheck repro <id>`
//! re-runs exactly that case.

use std::fmt;
use std::str::FromStr;

use crosscheck_spec::{KernelId, Op, Problem, Variant};

use crate::judge::Tier;

/// How input values are drawn. Each op has its own set ([`Distribution::for_op`]);
/// `Exact` and `ConstV` select the exact tier, the others the bound tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Matmul: small integers sized so that every partial sum is exact: results must equal the oracle.
    Exact,
    /// Uniform on [-1, 1].
    Uniform,
    /// Standard normal.
    Normal,
    /// Matmul: random sign and significand, exponents spread across the storage precision's range.
    Wide,
    /// Attention: Q and K scaled so that raw scores reach ±1e4 (overflows without max subtraction).
    LargeLogits,
    /// Attention: tiny queries, so every visible key gets almost the same weight.
    NearUniform,
    /// Attention: one key per kv head aligned with the queries, dominating their softmax.
    Peaked,
    /// Attention: V constant along keys, so the output is that constant whatever the weights.
    ConstV,
    /// Attention: one NaN in K; exactly the rows that see its key must be NaN.
    NanKey,
    /// Attention: one NaN in V; exactly the rows that see its key must be NaN in its column.
    NanValue,
    /// Attention: a run of leading keys per kv head scores −∞ (as an additive −∞ mask writes
    /// them): they must weigh exactly 0, even when a whole tile of keys is −∞.
    NegInfKeys,
    /// Quantized: normal values with about a quarter of the blocks (rows, tiles) all zero.
    ZeroBlocks,
    /// Quantized: normal values with one outlier 1000 times larger in every block of 32.
    Outliers,
    /// Quantize: values built to land exactly on the format's rounding ties and thresholds.
    /// Matmul: exact sums that land halfway between two neighbours of the f16 or bf16 output, so
    /// the output conversion's tie rule decides them (exact tier).
    Ties,
    /// Quantize: magnitudes up to 2000 (beyond E4M3's 448), and for unscaled FP8 also ±∞ and NaN.
    Beyond448,
    /// Dequantize: random bytes (random codes, any f16 scale; f32 scales kept finite and normal).
    RandomBytes,
    /// Special values: −0 and subnormals of the storage precision, and (where the op defines
    /// them) ±∞ and NaN, judged with IEEE semantics.
    Specials,
}

impl Distribution {
    /// Every distribution, in report order.
    pub const ALL: [Distribution; 17] = [
        Distribution::Exact,
        Distribution::Uniform,
        Distribution::Normal,
        Distribution::Wide,
        Distribution::LargeLogits,
        Distribution::NearUniform,
        Distribution::Peaked,
        Distribution::ConstV,
        Distribution::NanKey,
        Distribution::NanValue,
        Distribution::NegInfKeys,
        Distribution::ZeroBlocks,
        Distribution::Outliers,
        Distribution::Ties,
        Distribution::Beyond448,
        Distribution::RandomBytes,
        Distribution::Specials,
    ];

    /// The distributions that apply to `op` (its family's).
    pub fn for_op(op: Op) -> &'static [Distribution] {
        crate::ops::family(op).distributions()
    }

    /// Name used in case ids.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::Exact => "exact",
            Distribution::Uniform => "uniform",
            Distribution::Normal => "normal",
            Distribution::Wide => "wide",
            Distribution::LargeLogits => "large",
            Distribution::NearUniform => "flat",
            Distribution::Peaked => "peaked",
            Distribution::ConstV => "constv",
            Distribution::NanKey => "nankey",
            Distribution::NanValue => "nanvalue",
            Distribution::NegInfKeys => "neginf",
            Distribution::ZeroBlocks => "zeroblocks",
            Distribution::Outliers => "outliers",
            Distribution::Ties => "ties",
            Distribution::Beyond448 => "beyond448",
            Distribution::RandomBytes => "randombytes",
            Distribution::Specials => "specials",
        }
    }

    /// True for the distributions judged by the exact tier.
    pub fn exact(self) -> bool {
        matches!(
            self,
            Distribution::Exact | Distribution::ConstV | Distribution::Ties
        )
    }
}

impl FromStr for Distribution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Distribution::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Distribution::ALL.iter().map(|d| d.name()).collect();
                format!(
                    "unknown distribution `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Everything needed to re-run one check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Case {
    /// Kernel name within the op (the op comes from the problem).
    pub kernel: String,
    /// Backend name, e.g. `cpu`, `wgpu-vulkan`.
    pub backend: String,
    /// Storage precision and path.
    pub variant: Variant,
    /// The problem.
    pub problem: Problem,
    /// Input distribution.
    pub distribution: Distribution,
    /// Seed of the input data.
    pub seed: u64,
}

impl Case {
    /// The op of the problem.
    pub fn op(&self) -> Op {
        self.problem.op()
    }

    /// The kernel it runs.
    pub fn kernel_id(&self) -> KernelId {
        KernelId::new(self.op(), self.kernel.clone())
    }

    /// The one-line id.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// The tier that judges this case: exact for quantize and dequantize (the format defines
    /// every bit) and for the exact distributions, bound otherwise.
    pub fn tier(&self) -> Tier {
        if crate::ops::of(&self.problem).bit_exact() || self.distribution.exact() {
            Tier::Exact
        } else {
            Tier::Bound
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}:{}:{}:{}:{}:{:#x}",
            self.op(),
            self.kernel,
            self.backend,
            self.variant,
            crate::ops::of(&self.problem).problem_id(&self.problem),
            self.distribution.name(),
            self.seed
        )
    }
}

/// Why a case id does not parse: which field is wrong, and how it should look.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseIdError {
    /// Not six `:`-separated fields.
    #[error(
        "case id `{id}` should have 6 fields op.kernel:backend:variant:problem:distribution:seed, found {found}"
    )]
    Fields {
        /// The id as given.
        id: String,
        /// Fields found.
        found: usize,
    },
    /// The first field is not `op.kernel`.
    #[error("`{0}` should be op.kernel, e.g. matmul.tiled")]
    OpKernel(String),
    /// An op, variant, distribution or problem that does not parse (the message says which).
    #[error("{0}")]
    Field(String),
    /// A distribution of another op.
    #[error("distribution `{distribution}` does not apply to {op} (use {allowed})")]
    DistributionNotForOp {
        /// The distribution named.
        distribution: String,
        /// The op of the id.
        op: Op,
        /// The op's distributions, comma-separated.
        allowed: String,
    },
    /// A seed that is not `0x` and hex digits.
    #[error("seed `{0}` should be hex like 0x2a")]
    Seed(String),
}

impl From<String> for CaseIdError {
    fn from(message: String) -> Self {
        CaseIdError::Field(message)
    }
}

impl FromStr for Case {
    type Err = CaseIdError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = id.trim().split(':').collect();
        let [op_kernel, backend, variant, problem, distribution, seed] = parts.as_slice() else {
            return Err(CaseIdError::Fields {
                id: id.to_string(),
                found: parts.len(),
            });
        };
        let (op, kernel) = op_kernel
            .split_once('.')
            .ok_or_else(|| CaseIdError::OpKernel(op_kernel.to_string()))?;
        let op: Op = op.parse()?;
        let hex = seed
            .strip_prefix("0x")
            .ok_or_else(|| CaseIdError::Seed(seed.to_string()))?;
        let distribution: Distribution = distribution.parse()?;
        if !Distribution::for_op(op).contains(&distribution) {
            let names: Vec<&str> = Distribution::for_op(op).iter().map(|d| d.name()).collect();
            return Err(CaseIdError::DistributionNotForOp {
                distribution: distribution.name().to_string(),
                op,
                allowed: names.join(", "),
            });
        }
        Ok(Case {
            kernel: kernel.to_string(),
            backend: backend.to_string(),
            variant: variant.parse()?,
            problem: parse_problem(op, problem)?,
            distribution,
            seed: u64::from_str_radix(hex, 16)
                .map_err(|e| CaseIdError::Field(format!("seed `{hex}`: {e}")))?,
        })
    }
}

/// Parses the problem part of an id for `op`.
pub(crate) fn parse_problem(op: Op, s: &str) -> Result<Problem, String> {
    crate::ops::family(op).parse_problem(s)
}

/// Parses `b2m17n33k5` given the labels `[b, m, n, k]`, in that order.
pub(crate) fn labelled_numbers(s: &str, labels: &[char]) -> Option<Vec<usize>> {
    let mut rest = s;
    let mut out = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        rest = rest.strip_prefix(*label)?;
        let end = match labels.get(i + 1) {
            Some(next) => rest.find(*next)?,
            None => rest.len(),
        };
        out.push(rest[..end].parse().ok()?);
        rest = &rest[end..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{AttentionProblem, Layout, MatmulProblem, Precision};

    #[test]
    fn ids_round_trip() {
        let case = Case {
            kernel: "tiled".into(),
            backend: "wgpu-vulkan".into(),
            variant: Variant::native(Precision::F16),
            problem: Problem::Matmul(MatmulProblem {
                batch: 2,
                m: 17,
                n: 33,
                k: 5,
                a_layout: Layout::RowMajor,
                b_layout: Layout::ColMajor,
                b_broadcast: true,
            }),
            distribution: Distribution::Normal,
            seed: 42,
        };
        let id = case.id();
        assert_eq!(
            id,
            "matmul.tiled:wgpu-vulkan:f16n:b2m17n33k5.rc.bcast:normal:0x2a"
        );
        assert_eq!(id.parse::<Case>().unwrap(), case);
    }

    #[test]
    fn attention_ids_round_trip() {
        let problem = AttentionProblem {
            batch: 2,
            heads_q: 8,
            heads_kv: 2,
            len_q: 1,
            len_kv: 300,
            d_qk: 192,
            d_v: 128,
            causal: true,
            window: Some(64),
            scale_bits: Some(0.3f32.to_bits()),
        };
        let case = Case {
            kernel: "flash".into(),
            backend: "cpu".into(),
            variant: Variant::portable(Precision::BF16),
            problem: Problem::Attention(problem),
            distribution: Distribution::LargeLogits,
            seed: 7,
        };
        assert_eq!(
            case.id(),
            "attention.flash:cpu:bf16:b2h8g2q1k300d192v128.causal.w64.s0.3:large:0x7"
        );
        assert_eq!(case.id().parse::<Case>().unwrap(), case);
        let plain = AttentionProblem {
            causal: false,
            window: None,
            scale_bits: None,
            ..problem
        };
        let case = Case {
            problem: Problem::Attention(plain),
            ..case
        };
        assert_eq!(case.id().parse::<Case>().unwrap(), case);
        assert!(
            "attention.flash:cpu:f32:b1h1g1q1k1d1v1:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("does not apply")
        );
        assert!(
            "attention.flash:cpu:f32:b1h1g1q1k1d1v1.bogus:normal:0x1"
                .parse::<Case>()
                .is_err()
        );
    }

    #[test]
    fn quantized_ids_round_trip() {
        for id in [
            "quantize.q8_0:cpu:f32:q8_0.r3c64:ties:0x1",
            "dequantize.fp8:wgpu-gl:f32:fp8-e4m3-128x128.r130c7:randombytes:0x2",
            "qmatmul.fp8:cpu:f32:fp8-e4m3-128x128.m2n5k130:outliers:0x3",
        ] {
            assert_eq!(id.parse::<Case>().unwrap().id(), id);
        }
        assert!(
            "quantize.q8_0:cpu:f32:q9_0.r3c64:ties:0x1"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("unknown quantized format")
        );
        let case: Case = "quantize.q8_0:cpu:f32:q8_0.r3c64:normal:0x1"
            .parse()
            .unwrap();
        assert_eq!(case.tier(), Tier::Exact);
    }

    #[test]
    fn malformed_ids_say_what_is_wrong() {
        assert!(
            "matmul.tiled:cpu"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("6 fields")
        );
        assert!(
            "conv.x:cpu:f32:b1m1n1k1.rr:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("unknown op")
        );
        assert!(
            "matmul.x:cpu:f32:b1m1k1.rr:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("b1m17n33k5")
        );
        assert!(
            "matmul.x:cpu:f32:b1m1n1k1.rx:exact:0x1"
                .parse::<Case>()
                .is_err()
        );
        assert!(
            "matmul.x:cpu:f64:b1m1n1k1.rr:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("precision")
        );
        assert!(
            "matmul.x:cpu:f32:b1m1n1k1.rr:exact:12"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("hex")
        );
    }
}
