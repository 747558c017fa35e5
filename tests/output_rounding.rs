//! Output rounding at ties: the `ties` matmul cases put exact results halfway between two
//! neighbours of the f16 or bf16 output, so a kernel whose final conversion rounds half away
//! from zero (a common fast conversion) or truncates fails, while round to nearest even passes.

use std::sync::Arc;

use crosscheck::run::Plan;
use crosscheck::{Case, CaseResult, Distribution, run_case};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, Layout, OutputBuffer, Precision,
    Problem, Variant,
};

/// How the test backend converts its f32 results to the output precision.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rounding {
    NearestEven,
    HalfAwayFromZero,
    Truncate,
}

/// The CPU's naive matmul computed in f32, then converted to the output precision by `rounding`.
struct ConvertsWith(Rounding);

impl Backend for ConvertsWith {
    fn name(&self) -> &str {
        "cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        CpuBackend.kernels()
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        let widened: Vec<HostTensor> = inputs
            .iter()
            .map(|t| {
                let mut bytes = vec![0u8; t.len() * 4];
                for (v, out) in t.to_f32().iter().zip(bytes.chunks_exact_mut(4)) {
                    Precision::F32.encode(*v, out);
                }
                HostTensor {
                    precision: Precision::F32,
                    bytes,
                    ..(*t).clone()
                }
            })
            .collect();
        let refs: Vec<&HostTensor> = widened.iter().collect();
        let f32 = Variant::portable(Precision::F32);
        let mut wide = OutputBuffer::new(Precision::F32, output.len(), 0);
        CpuBackend.run(kernel, f32, problem, &refs, &mut wide)?;
        let precision = variant.precision;
        for (i, bytes) in wide.payload().chunks_exact(4).enumerate() {
            let x = Precision::F32.decode(bytes);
            output.write(i, convert(x, precision, self.0));
        }
        Ok(())
    }
}

/// `x` rounded to `precision` (normal range) by `rounding`, returned as the exact f32 value.
fn convert(x: f32, precision: Precision, rounding: Rounding) -> f32 {
    if rounding == Rounding::NearestEven || x == 0.0 || !x.is_finite() {
        return x; // OutputBuffer::write rounds to nearest even
    }
    let magnitude = f64::from(x.abs());
    let ulp = 2f64.powi(magnitude.log2().floor() as i32 + 1 - precision.digits());
    let units = magnitude / ulp;
    let rounded = match rounding {
        Rounding::HalfAwayFromZero => (units + 0.5).floor(),
        _ => units.floor(),
    };
    (rounded * ulp).copysign(f64::from(x)) as f32
}

/// The verdicts of the plan's `ties` matmul cases in `variant`.
fn tie_cases_pass(rounding: Rounding, variant: Variant) -> Vec<(String, bool)> {
    let backend: Arc<dyn Backend> = Arc::new(ConvertsWith(rounding));
    let plan = Plan {
        random_cases: 0,
        ..Plan::default()
    };
    let mut cases: Vec<Case> = plan
        .cases(crosscheck_spec::Op::Matmul, "cpu", "naive", variant)
        .into_iter()
        .filter(|c| c.distribution == Distribution::Ties)
        .collect();
    // And one small case of every layout pair.
    for (a, b) in [("r", "r"), ("c", "c")] {
        cases.push(
            format!("matmul.naive:cpu:{variant}:b1m9n7k3.{a}{b}:ties:0x11")
                .parse()
                .unwrap(),
        );
    }
    assert!(cases.len() >= 4);
    cases
        .iter()
        .map(|case| {
            let passed = matches!(
                run_case(&backend, case).unwrap(),
                CaseResult::Judged { verdict, .. } if verdict.passed()
            );
            (case.id(), passed)
        })
        .collect()
}

#[test]
fn ties_of_the_output_precision_are_rounded_to_even() {
    for precision in [Precision::BF16, Precision::F16] {
        let variant = Variant::portable(precision);
        let control = tie_cases_pass(Rounding::NearestEven, variant);
        assert!(control.iter().all(|(_, ok)| *ok), "{control:?}");
        for wrong in [Rounding::HalfAwayFromZero, Rounding::Truncate] {
            let verdicts = tie_cases_pass(wrong, variant);
            assert!(
                verdicts.iter().all(|(_, ok)| !ok),
                "{wrong:?} {precision}: {verdicts:?}"
            );
        }
    }
}

#[test]
fn tie_inputs_are_exact_ties_of_the_output() {
    let case: Case = "matmul.naive:cpu:bf16:b1m5n4k2.rr:ties:0x3"
        .parse()
        .unwrap();
    let Problem::Matmul(p) = case.problem else {
        unreachable!()
    };
    let inputs = crosscheck::generate::inputs(&case);
    assert_eq!(inputs[0].layout, Layout::RowMajor);
    let r = crosscheck_reference::matmul(&p, &inputs[0], &inputs[1]);
    for y in r.values {
        let v = y as f32;
        assert_eq!(f64::from(v), y, "the sum is exact in f32");
        let lo = f64::from(convert(v, Precision::BF16, Rounding::Truncate));
        let hi = f64::from(convert(v, Precision::BF16, Rounding::HalfAwayFromZero));
        assert!(lo != hi && (y - lo) == (hi - y), "{y} is not a bf16 tie");
    }
}
