//! The MLA decode family: absorbed multi-head latent attention over a paged KV cache (dense or
//! FlashMLA's FP8 layout), returning O and the log-sum-exp, judged row by row with a bound for
//! each.

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;

use crosscheck_spec::{HostTensor, MlaProblem, NumericContract, Op, Problem, Variant};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::SubLaunch;
use crate::run::memory::Footprint;

/// The MLA family.
pub struct Mla;

/// The MLA problem inside `problem`.
fn of(problem: &Problem) -> &MlaProblem {
    match problem {
        Problem::Mla(p) => p,
        other => wrong_problem(Op::Mla, other),
    }
}

/// Whether a kernel named `kernel` reads the FP8 cache layout (its name ends in `fp8`).
pub fn fp8_kernel(kernel: &str) -> bool {
    kernel.ends_with("fp8")
}

impl OpFamily for Mla {
    fn op(&self) -> Op {
        Op::Mla
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[Uniform, Normal, LargeLogits]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::problem_id(of(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse(text).map(Problem::Mla)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::to_json(of(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::from_json(json).map(Problem::Mla)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        of(problem).fp8 == fp8_kernel(kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::problems(fp8_kernel(kernel))
            .prop_map(Problem::Mla)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller(of(problem))
            .into_iter()
            .map(Problem::Mla)
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
        expect::footprint(of(problem), variant)
    }
}
