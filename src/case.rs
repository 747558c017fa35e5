//! One reproducible case: what to run where, and the one-line id that names it.
//!
//! An id looks like `matmul.tiled:wgpu-vulkan:f16:b2m17n33k5.rc.bcast:normal:0x2a` —
//! op.kernel, backend, variant, problem, input distribution, seed — and `crosscheck repro <id>`
//! re-runs exactly that case.

use std::fmt;
use std::str::FromStr;

use crosscheck_spec::{Layout, MatmulProblem, Op, Problem, Variant};

use crate::judge::Tier;

/// How input values are drawn. `Exact` selects the exact tier; the others the bound tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Small integers sized so that every partial sum is exact: results must equal the oracle.
    Exact,
    /// Uniform on [-1, 1].
    Uniform,
    /// Standard normal.
    Normal,
    /// Random sign and significand, exponents spread across the storage precision's range.
    Wide,
}

impl Distribution {
    /// Every distribution, in report order.
    pub const ALL: [Distribution; 4] = [
        Distribution::Exact,
        Distribution::Uniform,
        Distribution::Normal,
        Distribution::Wide,
    ];

    /// Name used in case ids.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::Exact => "exact",
            Distribution::Uniform => "uniform",
            Distribution::Normal => "normal",
            Distribution::Wide => "wide",
        }
    }
}

impl FromStr for Distribution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Distribution::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                format!("unknown distribution `{s}` (expected exact, uniform, normal or wide)")
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

    /// The one-line id.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// The tier that judges this case: exact for integer-exact inputs, bound otherwise.
    pub fn tier(&self) -> Tier {
        if self.distribution == Distribution::Exact {
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
            problem_id(&self.problem),
            self.distribution.name(),
            self.seed
        )
    }
}

impl FromStr for Case {
    type Err = String;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = id.trim().split(':').collect();
        let [op_kernel, backend, variant, problem, distribution, seed] = parts.as_slice() else {
            return Err(format!(
                "case id `{id}` should have 6 fields op.kernel:backend:variant:problem:distribution:seed, found {}",
                parts.len()
            ));
        };
        let (op, kernel) = op_kernel
            .split_once('.')
            .ok_or_else(|| format!("`{op_kernel}` should be op.kernel, e.g. matmul.tiled"))?;
        let op: Op = op.parse()?;
        let seed = seed
            .strip_prefix("0x")
            .ok_or_else(|| format!("seed `{seed}` should be hex like 0x2a"))?;
        Ok(Case {
            kernel: kernel.to_string(),
            backend: backend.to_string(),
            variant: variant.parse()?,
            problem: parse_problem(op, problem)?,
            distribution: distribution.parse()?,
            seed: u64::from_str_radix(seed, 16).map_err(|e| format!("seed `{seed}`: {e}"))?,
        })
    }
}

/// Problem part of an id, e.g. `b2m17n33k5.rc.bcast`.
fn problem_id(problem: &Problem) -> String {
    match problem {
        Problem::Matmul(p) => format!(
            "b{}m{}n{}k{}.{}{}{}",
            p.batch,
            p.m,
            p.n,
            p.k,
            p.a_layout.tag(),
            p.b_layout.tag(),
            if p.b_broadcast { ".bcast" } else { "" }
        ),
    }
}

/// Parses the problem part of an id for `op`.
pub(crate) fn parse_problem(op: Op, s: &str) -> Result<Problem, String> {
    match op {
        Op::Matmul => parse_matmul(s).map(Problem::Matmul),
    }
}

fn parse_matmul(s: &str) -> Result<MatmulProblem, String> {
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

/// Parses `b2m17n33k5` given the labels `[b, m, n, k]`, in that order.
fn labelled_numbers(s: &str, labels: &[char]) -> Option<Vec<usize>> {
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
    use crosscheck_spec::Precision;

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
    fn malformed_ids_say_what_is_wrong() {
        assert!(
            "matmul.tiled:cpu"
                .parse::<Case>()
                .unwrap_err()
                .contains("6 fields")
        );
        assert!(
            "conv.x:cpu:f32:b1m1n1k1.rr:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
                .contains("unknown op")
        );
        assert!(
            "matmul.x:cpu:f32:b1m1k1.rr:exact:0x1"
                .parse::<Case>()
                .unwrap_err()
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
                .contains("precision")
        );
        assert!(
            "matmul.x:cpu:f32:b1m1n1k1.rr:exact:12"
                .parse::<Case>()
                .unwrap_err()
                .contains("hex")
        );
    }
}
