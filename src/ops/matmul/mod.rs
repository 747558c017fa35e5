//! The matmul family: `C[b] = A[b] · B[b or 0]` in any layouts, judged against the f64 oracle
//! in the exact tier (small integers, tie-landing sums) and the bound tier.

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;

use crosscheck_spec::{HostTensor, MatmulProblem, NumericContract, Op, Problem, Variant};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::SubLaunch;
use crate::run::memory::Footprint;

/// The matmul family.
pub struct Matmul;

/// The matmul problem inside `problem`.
fn of(problem: &Problem) -> &MatmulProblem {
    match problem {
        Problem::Matmul(p) => p,
        other => wrong_problem(Op::Matmul, other),
    }
}

impl OpFamily for Matmul {
    fn op(&self) -> Op {
        Op::Matmul
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[Exact, Ties, Uniform, Normal, Wide, Specials]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::problem_id(of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse(text).map(Problem::Matmul)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::to_json(of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::from_json(json).map(Problem::Matmul)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::FIXED
    }

    fn problems(&self, _kernel: &str) -> BoxedStrategy<Problem> {
        cases::problems().prop_map(Problem::Matmul).boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller(of(problem))
            .into_iter()
            .map(Problem::Matmul)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = of(&case.problem);
        data::inputs(p, case.variant.precision, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::expectation(case, of(&case.problem), inputs, contract)
    }

    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        launches::sub_launches(of(problem), inputs)
    }

    fn output_name(&self) -> &'static str {
        "C"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::footprint(of(problem), variant, output_size)
    }
}
