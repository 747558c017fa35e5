//! The attention family: softmax(scale · Q·Kᵀ + mask) · V with GQA, end-aligned causal and
//! sliding-window masks, MLA head widths and adversarial logits, judged row by row.

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;

use crosscheck_spec::{AttentionProblem, HostTensor, NumericContract, Op, Problem, Variant};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::SubLaunch;
use crate::run::memory::Footprint;

/// The attention family.
pub struct Attention;

/// The attention problem inside `problem`.
fn of(problem: &Problem) -> &AttentionProblem {
    match problem {
        Problem::Attention(p) => p,
        other => wrong_problem(Op::Attention, other),
    }
}

impl OpFamily for Attention {
    fn op(&self) -> Op {
        Op::Attention
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[
            Uniform,
            Normal,
            LargeLogits,
            NearUniform,
            Peaked,
            ConstV,
            NanKey,
            NanValue,
            NegInfKeys,
            Specials,
        ]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::problem_id(of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse(text).map(Problem::Attention)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::to_json(of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::from_json(json).map(Problem::Attention)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::FIXED
    }

    fn problems(&self, _kernel: &str) -> BoxedStrategy<Problem> {
        cases::problems().prop_map(Problem::Attention).boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller(of(problem))
            .into_iter()
            .map(Problem::Attention)
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
        "O"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::footprint(of(problem), variant, output_size)
    }
}
