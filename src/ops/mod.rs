//! Op families: everything the harness knows about one kind of problem, in one module per family.
//!
//! A family owns its id grammar, protocol JSON, fixed and random cases, input generation, oracle
//! and bound, shrinking steps, the smaller launches of the invariance checks, the name of its
//! output in element labels and its memory footprint. The generic harness (case ids, the plan,
//! the runner, the judge's reports, the process protocol) asks [`family`] and never matches on
//! the problem itself, so a new family is one folder here plus one line in [`family`].

pub mod attention;
pub mod indexer;
pub mod matmul;
pub mod mla;
pub mod moe;
pub mod quant;
pub mod sparse;

use crosscheck_spec::{HostTensor, NumericContract, Op, Problem, Variant};
use proptest::strategy::BoxedStrategy;

use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::{SubLaunch, Unfused};
use crate::run::memory::Footprint;

/// One op family. Every method that takes a [`Problem`] is only ever given problems of
/// [`OpFamily::op`]; a family handed another op's problem panics (a harness bug).
pub trait OpFamily: Sync {
    /// The op this family implements.
    fn op(&self) -> Op;

    /// The input distributions that apply, in report order.
    fn distributions(&self) -> &'static [Distribution];

    /// True when the format defines every output bit, so every case is judged exactly.
    fn bit_exact(&self) -> bool {
        false
    }

    /// The problem part of a case id, e.g. `b2m17n33k5.rc.bcast`.
    fn problem_id(&self, problem: &Problem) -> String;

    /// Parses the problem part of a case id.
    fn parse_problem(&self, text: &str) -> Result<Problem, String>;

    /// The problem as the process protocol's JSON object, every key present.
    fn problem_json(&self, problem: &Problem) -> serde_json::Value;

    /// Parses the protocol JSON of a problem (not yet validated).
    fn parse_problem_json(&self, json: &str) -> Result<Problem, String>;

    /// The fixed cases of the default plan: problem ids and their distributions.
    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)];

    /// Whether a kernel named `kernel` takes `problem` (quantized kernels are named by the
    /// format family they handle).
    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        let _ = (problem, kernel);
        true
    }

    /// Random problems for a kernel named `kernel`, shrinking towards the smallest.
    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem>;

    /// Valid problems one step smaller than `problem`, the biggest cuts first.
    fn smaller(&self, problem: &Problem) -> Vec<Problem>;

    /// The stored inputs of `case`, in the order the backend receives them.
    fn inputs(&self, case: &Case) -> Vec<HostTensor>;

    /// The oracle's values and the error `contract` allows per output element, and the output
    /// elements the kernel must leave untouched ([`Expectation::untouched`]: the judge then
    /// checks that they still hold the guard's poison instead of judging a value).
    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation;

    /// For quantized ops: the f64 result of the inputs before quantization, against which
    /// the quantization error the user pays is reported (none by default).
    fn unquantized(&self, _case: &Case, _inputs: &[HostTensor]) -> Option<Vec<f64>> {
        None
    }

    /// Smaller launches that recompute parts of the output (none by default).
    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        let _ = (problem, inputs);
        Vec::new()
    }

    /// The unfused pipeline that computes the same output with other kernels of the same
    /// backend, for fused kernels (none by default).
    fn unfused(&self, problem: &Problem, inputs: &[HostTensor]) -> Option<Unfused> {
        let _ = (problem, inputs);
        None
    }

    /// The output's name in element labels: `C` in `C[0,3,4]`.
    fn output_name(&self) -> &'static str;

    /// The sizes a memory estimate for a case of `problem` is made of.
    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint;
}

/// The family of `op`: the one registry of op families.
pub fn family(op: Op) -> &'static dyn OpFamily {
    match op {
        Op::Matmul => &matmul::Matmul,
        Op::Attention => &attention::Attention,
        Op::Quantize => &quant::Quantize,
        Op::Dequantize => &quant::Dequantize,
        Op::Mla => &mla::Mla,
        Op::QuantMatmul => &quant::QuantMatmul,
        Op::Sparse => &sparse::Sparse,
        Op::SparseIndexer => &indexer::SparseIndexer,
        Op::MoeContiguous => &moe::Contiguous,
        Op::MoeMasked => &moe::Masked,
        Op::MoeRouted => &moe::Routed,
    }
}

/// The family of `problem`'s op.
pub fn of(problem: &Problem) -> &'static dyn OpFamily {
    family(problem.op())
}

/// The message of the panic when a family is handed another op's problem.
fn wrong_problem(family: Op, problem: &Problem) -> ! {
    panic!(
        "harness bug: the {family} family was given a {} problem",
        problem.op()
    )
}
