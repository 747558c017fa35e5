//! The quantized families: quantize (f32 to a format's bytes), dequantize (bytes to f32), both
//! judged bit for bit against the reference codecs, and the quantized matmul, judged against
//! the f64 product of the exactly dequantized operands. A quantized kernel is named by the
//! format family it handles ([`crosscheck_spec::QuantFamily`]).

pub mod cases;
pub mod data;
pub mod expect;
pub mod id;
pub mod launches;
pub mod unfused;

use crosscheck_spec::{
    DequantizeProblem, HostTensor, NumericContract, Op, Problem, QuantMatmulProblem,
    QuantizeProblem, Variant,
};
use proptest::prelude::*;

use super::{OpFamily, wrong_problem};
use crate::case::{Case, Distribution};
use crate::run::expect::Expectation;
use crate::run::invariance::{SubLaunch, Unfused};
use crate::run::memory::Footprint;

/// The quantize family.
pub struct Quantize;

/// The dequantize family.
pub struct Dequantize;

/// The quantized-matmul family.
pub struct QuantMatmul;

/// The quantize or dequantize problem inside `problem`.
fn codec_problem(op: Op, problem: &Problem) -> &QuantizeProblem {
    match problem {
        Problem::Quantize(p) if op == Op::Quantize => p,
        Problem::Dequantize(DequantizeProblem(p)) if op == Op::Dequantize => p,
        other => wrong_problem(op, other),
    }
}

/// The quantized matmul inside `problem`.
fn qmatmul_problem(problem: &Problem) -> &QuantMatmulProblem {
    match problem {
        Problem::QuantMatmul(p) => p,
        other => wrong_problem(Op::QuantMatmul, other),
    }
}

/// Whether a kernel named `kernel` handles the format family of `problem`: quantized kernels
/// are named after their [`crosscheck_spec::QuantFamily`].
fn takes(problem: &Problem, kernel: &str) -> bool {
    let family = match problem {
        Problem::Quantize(q) | Problem::Dequantize(DequantizeProblem(q)) => q.format.family(),
        Problem::QuantMatmul(q) => q.weights.family(),
        _ => return true,
    };
    family.name() == family_name(kernel)
}

/// The name of the family a quantized kernel belongs to
/// ([`crosscheck_spec::QuantFamily::of_kernel`]), or the kernel's name when none.
pub fn family_name(kernel: &str) -> &str {
    crosscheck_spec::QuantFamily::of_kernel(kernel).map_or(kernel, |f| f.name())
}

impl OpFamily for Quantize {
    fn op(&self) -> Op {
        Op::Quantize
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[
            Uniform, Normal, ZeroBlocks, Outliers, Ties, Beyond448, Specials,
        ]
    }

    fn bit_exact(&self) -> bool {
        true
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::quantize_id(codec_problem(Op::Quantize, problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_quantize(text).map(Problem::Quantize)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::quantize_json(codec_problem(Op::Quantize, problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::quantize_from_json(json).map(Problem::Quantize)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::QUANTIZE_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        takes(problem, kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::quantize_problems(kernel)
            .prop_map(Problem::Quantize)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        let p = codec_problem(Op::Quantize, problem);
        cases::smaller_quantize(p)
            .into_iter()
            .map(Problem::Quantize)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = codec_problem(Op::Quantize, &case.problem);
        data::quantize_inputs(p, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::quantize(codec_problem(Op::Quantize, &case.problem), inputs, contract)
    }

    fn output_name(&self) -> &'static str {
        "byte"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::quantize_footprint(codec_problem(Op::Quantize, problem), output_size)
    }
}

impl OpFamily for Dequantize {
    fn op(&self) -> Op {
        Op::Dequantize
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[Uniform, Normal, ZeroBlocks, Outliers, RandomBytes]
    }

    fn bit_exact(&self) -> bool {
        true
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::quantize_id(codec_problem(Op::Dequantize, problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_quantize(text).map(Problem::dequantize)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::quantize_json(codec_problem(Op::Dequantize, problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::quantize_from_json(json).map(Problem::dequantize)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::DEQUANTIZE_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        takes(problem, kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::quantize_problems(kernel)
            .prop_map(Problem::dequantize)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        let p = codec_problem(Op::Dequantize, problem);
        cases::smaller_quantize(p)
            .into_iter()
            .map(Problem::dequantize)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = codec_problem(Op::Dequantize, &case.problem);
        data::dequantize_inputs(p, case.distribution, case.seed)
    }

    fn expectation(&self, case: &Case, inputs: &[HostTensor], _: &NumericContract) -> Expectation {
        expect::dequantize(codec_problem(Op::Dequantize, &case.problem), inputs)
    }

    fn output_name(&self) -> &'static str {
        "X"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::dequantize_footprint(codec_problem(Op::Dequantize, problem), output_size)
    }
}

impl OpFamily for QuantMatmul {
    fn op(&self) -> Op {
        Op::QuantMatmul
    }

    fn distributions(&self) -> &'static [Distribution] {
        use Distribution::*;
        &[Uniform, Normal, ZeroBlocks, Outliers]
    }

    fn problem_id(&self, problem: &Problem) -> String {
        id::qmatmul_id(qmatmul_problem(problem))
    }

    fn parse_problem(&self, text: &str) -> Result<Problem, String> {
        id::parse_qmatmul(text).map(Problem::QuantMatmul)
    }

    fn problem_json(&self, problem: &Problem) -> serde_json::Value {
        id::qmatmul_json(qmatmul_problem(problem))
    }

    fn parse_problem_json(&self, json: &str) -> Result<Problem, String> {
        id::qmatmul_from_json(json).map(Problem::QuantMatmul)
    }

    fn fixed_cases(&self) -> &'static [(&'static str, Distribution)] {
        cases::QMATMUL_FIXED
    }

    fn kernel_takes(&self, problem: &Problem, kernel: &str) -> bool {
        takes(problem, kernel)
    }

    fn problems(&self, kernel: &str) -> BoxedStrategy<Problem> {
        cases::qmatmul_problems(kernel)
            .prop_map(Problem::QuantMatmul)
            .boxed()
    }

    fn smaller(&self, problem: &Problem) -> Vec<Problem> {
        cases::smaller_qmatmul(qmatmul_problem(problem))
            .into_iter()
            .map(Problem::QuantMatmul)
            .collect()
    }

    fn inputs(&self, case: &Case) -> Vec<HostTensor> {
        let p = qmatmul_problem(&case.problem);
        data::qmatmul_inputs(p, case.variant.precision, case.distribution, case.seed)
    }

    fn expectation(
        &self,
        case: &Case,
        inputs: &[HostTensor],
        contract: &NumericContract,
    ) -> Expectation {
        expect::qmatmul(case, qmatmul_problem(&case.problem), inputs, contract)
    }

    fn unquantized(&self, case: &Case, inputs: &[HostTensor]) -> Option<Vec<f64>> {
        let p = qmatmul_problem(&case.problem);
        let ops = data::qmatmul_operands(p, case.distribution, case.seed);
        Some(crosscheck_reference::qmatmul::unquantized(
            p, &ops.a, &ops.w, &inputs[0], &inputs[1],
        ))
    }

    fn sub_launches(&self, problem: &Problem, inputs: &[HostTensor]) -> Vec<SubLaunch> {
        launches::sub_launches(qmatmul_problem(problem), inputs)
    }

    fn unfused(&self, problem: &Problem, inputs: &[HostTensor]) -> Option<Unfused> {
        Some(unfused::pipeline(qmatmul_problem(problem), inputs))
    }

    fn output_name(&self) -> &'static str {
        "C"
    }

    fn footprint(&self, problem: &Problem, variant: Variant) -> Footprint {
        let output_size = problem.output_precision(variant).bytes() as u128;
        expect::qmatmul_footprint(qmatmul_problem(problem), output_size)
    }
}
