//! The sparse attention family (DeepSeek Sparse Attention, as FlashMLA's
//! `flash_mla_sparse_fwd` computes it): every query attends to the keys its index list names,
//! with −1 slots skipped, repeated keys counted per slot and lists of nothing but −1 giving
//! zeros; judged row by row with the attention bound over topk slots. Kernels named `*_fp8` read
//! FlashMLA's FP8 KV cache (the MLA family's layout) and take only `.fp8` problems.

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;

use crosscheck_spec::{HostTensor, NumericContract, Op, Problem, SparseAttentionProblem, Variant};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::SubLaunch;
use crate::run::memory::Footprint;

/// The sparse attention family.
pub struct Sparse;

/// The sparse attention problem inside `problem`.
fn of(problem: &Problem) -> &SparseAttentionProblem {
    match problem {
        Problem::Sparse(p) => p,
        other => wrong_problem(Op::Sparse, other),
    }
}

impl OpFamily for Sparse {
    fn op(&self) -> Op {
        Op::Sparse
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[Uniform, Normal, LargeLogits, NearUniform, NanKey]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::problem_id(of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse(text).map(Problem::Sparse)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::to_json(of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::from_json(json).map(Problem::Sparse)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        of(problem).fp8 == crate::ops::mla::fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::problems(crate::ops::mla::fp8_kernel(kernel))
            .prop_map(Problem::Sparse)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller(of(problem))
            .into_iter()
            .map(Problem::Sparse)
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
