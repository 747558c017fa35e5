//! The MoE grouped GEMM families: DeepGEMM's m-grouped contiguous layout (`moe_contiguous`),
//! its masked layout (`moe_masked`), and the routed combination of each token's top-k expert
//! outputs (`moe_routed`). Each is judged per expert against the f64 matmul oracle; rows that
//! belong to no expert must come out as zeros or be left untouched, as the problem declares
//! ([`crosscheck_spec::Padding`]), the latter checked by the output guard's poison. Kernels named
//! `fp8…` take DeepGEMM's FP8 operands (1×128 activation scales, 128×128 weight scales), the
//! others the variant's precision.

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;
pub mod unfused;

use crosscheck_spec::{
    HostTensor, MoeContiguousProblem, MoeMaskedProblem, MoeRoutedProblem, NumericContract, Op,
    Problem, Variant,
};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::{SubLaunch, Unfused};
use crate::run::memory::Footprint;

/// The contiguous-layout family.
pub struct Contiguous;

/// The masked-layout family.
pub struct Masked;

/// The routed-combination family.
pub struct Routed;

/// The input distributions of every MoE family.
const DISTRIBUTIONS: &[Distribution] = &[
    Distribution::Exact,
    Distribution::Uniform,
    Distribution::Normal,
    Distribution::Outliers,
    Distribution::Specials,
];

fn contiguous_of(problem: &Problem) -> &MoeContiguousProblem {
    match problem {
        Problem::MoeContiguous(p) => p,
        other => wrong_problem(Op::MoeContiguous, other),
    }
}

fn masked_of(problem: &Problem) -> &MoeMaskedProblem {
    match problem {
        Problem::MoeMasked(p) => p,
        other => wrong_problem(Op::MoeMasked, other),
    }
}

fn routed_of(problem: &Problem) -> &MoeRoutedProblem {
    match problem {
        Problem::MoeRouted(p) => p,
        other => wrong_problem(Op::MoeRouted, other),
    }
}

impl OpFamily for Contiguous {
    fn op(&self) -> Op {
        Op::MoeContiguous
    }

    fn distributions(&self) -> &'static [Distribution] {
        DISTRIBUTIONS
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::contiguous_id(contiguous_of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_contiguous(text).map(Problem::MoeContiguous)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::contiguous_json(contiguous_of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::contiguous_from_json(json).map(Problem::MoeContiguous)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::CONTIGUOUS_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        contiguous_of(problem).fp8 == cases::fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::contiguous_problems(kernel)
            .prop_map(Problem::MoeContiguous)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller_contiguous(contiguous_of(problem))
            .into_iter()
            .map(Problem::MoeContiguous)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = contiguous_of(&case.problem);
        data::contiguous_inputs(p, case.variant.precision, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::contiguous(case, contiguous_of(&case.problem), inputs, contract)
    }

    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        launches::contiguous(contiguous_of(problem), inputs)
    }

    fn unfused(&self, problem: &Problem, inputs: &[HostTensor]) -> Option<Unfused> {
        unfused::contiguous(contiguous_of(problem), inputs)
    }

    fn output_name(&self) -> &'static str {
        "C"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::contiguous_footprint(contiguous_of(problem), variant, output_size)
    }
}

impl OpFamily for Masked {
    fn op(&self) -> Op {
        Op::MoeMasked
    }

    fn distributions(&self) -> &'static [Distribution] {
        DISTRIBUTIONS
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::masked_id(masked_of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_masked(text).map(Problem::MoeMasked)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::masked_json(masked_of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::masked_from_json(json).map(Problem::MoeMasked)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::MASKED_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        masked_of(problem).fp8 == cases::fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::masked_problems(kernel)
            .prop_map(Problem::MoeMasked)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller_masked(masked_of(problem))
            .into_iter()
            .map(Problem::MoeMasked)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = masked_of(&case.problem);
        data::masked_inputs(p, case.variant.precision, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::masked(case, masked_of(&case.problem), inputs, contract)
    }

    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        launches::masked(masked_of(problem), inputs)
    }

    fn unfused(&self, problem: &Problem, inputs: &[HostTensor]) -> Option<Unfused> {
        unfused::masked(masked_of(problem), inputs)
    }

    fn output_name(&self) -> &'static str {
        "C"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::masked_footprint(masked_of(problem), variant, output_size)
    }
}

impl OpFamily for Routed {
    fn op(&self) -> Op {
        Op::MoeRouted
    }

    fn distributions(&self) -> &'static [Distribution] {
        DISTRIBUTIONS
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::routed_id(routed_of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_routed(text).map(Problem::MoeRouted)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::routed_json(routed_of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::routed_from_json(json).map(Problem::MoeRouted)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::ROUTED_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        routed_of(problem).fp8 == cases::fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::routed_problems(kernel)
            .prop_map(Problem::MoeRouted)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller_routed(routed_of(problem))
            .into_iter()
            .map(Problem::MoeRouted)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = routed_of(&case.problem);
        data::routed_inputs(p, case.variant.precision, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::routed(case, routed_of(&case.problem), inputs, contract)
    }

    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        launches::routed(routed_of(problem), inputs)
    }

    fn unfused(&self, problem: &Problem, inputs: &[HostTensor]) -> Option<Unfused> {
        unfused::routed(routed_of(problem), inputs)
    }

    fn output_name(&self) -> &'static str {
        "Y"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::routed_footprint(routed_of(problem), variant, output_size)
    }
}
