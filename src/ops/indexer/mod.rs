//! The sparse indexer family (DeepSeek Sparse Attention's lightning indexer, as DeepGEMM's
//! `fp8_mqa_logits` computes it): logits c_j·Σ_h w_h·relu(q_h·k_j) for the keys in each query's
//! range and −∞ elsewhere, dense or FP8; judged per logit with a bound from the accumulator's unit
//! roundoff, the dot width plus the heads, and the oracle's gauge.

pub mod bound;
pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;

use crosscheck_spec::{HostTensor, NumericContract, Op, Problem, SparseIndexerProblem, Variant};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::SubLaunch;
use crate::run::memory::Footprint;

/// The sparse indexer family.
pub struct SparseIndexer;

/// The indexer problem inside `problem`.
fn of(problem: &Problem) -> &SparseIndexerProblem {
    match problem {
        Problem::SparseIndexer(p) => p,
        other => wrong_problem(Op::SparseIndexer, other),
    }
}

impl OpFamily for SparseIndexer {
    fn op(&self) -> Op {
        Op::SparseIndexer
    }

    fn distributions(&self) -> &'static [Distribution] {
        &[Distribution::Uniform, Distribution::Normal]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::problem_id(of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse(text).map(Problem::SparseIndexer)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::to_json(of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::from_json(json).map(Problem::SparseIndexer)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        of(problem).fp8 == cases::fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::problems(cases::fp8_kernel(kernel))
            .prop_map(Problem::SparseIndexer)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller(of(problem))
            .into_iter()
            .map(Problem::SparseIndexer)
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
        "logits"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        expect::footprint(of(problem), variant)
    }
}
