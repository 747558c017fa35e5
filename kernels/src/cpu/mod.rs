//! The `cpu` backend: native Rust kernels, f32 accumulation, outputs rounded to nearest even.

mod convert;
mod matmul_naive;
mod matmul_tiled;

use crosscheck_spec::{
    Accumulator, Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, NumericContract, Op,
    OutputBuffer, OutputRounding, Precision, Problem, Subnormals, Variant, VariantInfo,
};

/// The CPU backend. Always available.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

/// A CPU matmul kernel: C (f32, row-major) from A and B decoded to f32.
type MatmulFn = fn(&crosscheck_spec::MatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>;

/// The registry: one line per kernel.
const MATMUL_KERNELS: [(&str, &str, MatmulFn); 2] = [
    (
        "naive",
        "triple loop, one f32 dot product per output element",
        matmul_naive::matmul,
    ),
    (
        "tiled",
        "cache-blocked, 4-row register block, vectorisable inner loop, rayon threads",
        matmul_tiled::matmul,
    ),
];

/// What every CPU kernel declares: f32 sums, IEEE subnormals, round-to-nearest-even outputs.
const CONTRACT: NumericContract = NumericContract {
    accumulator: Accumulator::F32,
    output_rounding: OutputRounding::NearestEven,
    subnormals: Subnormals::Preserved,
    deterministic: true,
    batch_invariant: true,
};

impl CpuBackend {
    fn matmul_kernel(kernel: &str) -> Result<MatmulFn, KernelError> {
        MATMUL_KERNELS
            .iter()
            .find(|(name, _, _)| *name == kernel)
            .map(|(_, _, f)| *f)
            .ok_or_else(|| KernelError::Unsupported(format!("cpu has no matmul kernel `{kernel}`")))
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn device(&self) -> DeviceInfo {
        let threads = rayon::current_num_threads();
        DeviceInfo {
            api: "cpu".into(),
            device: format!("{} ({threads} threads)", std::env::consts::ARCH),
            driver: "native Rust".into(),
        }
    }

    fn kernels(&self) -> Vec<KernelInfo> {
        MATMUL_KERNELS
            .iter()
            .map(|(name, summary, _)| KernelInfo {
                op: Op::Matmul,
                name: name.to_string(),
                summary: summary.to_string(),
                variants: Precision::ALL
                    .into_iter()
                    .map(|p| VariantInfo {
                        variant: Variant::portable(p),
                        contract: CONTRACT,
                        unavailable: None,
                    })
                    .collect(),
            })
            .collect()
    }

    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        problem.validate()?;
        if variant != Variant::portable(variant.precision) {
            return Err(KernelError::Unsupported(format!(
                "cpu kernels have no native {variant} path"
            )));
        }
        match problem {
            Problem::Matmul(_) => Self::matmul_kernel(kernel).map(|_| ()),
        }
    }

    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        self.check(kernel, variant, problem)?;
        problem.validate_buffers(variant, inputs, output)?;
        let result = match problem {
            Problem::Matmul(p) => Self::matmul_kernel(kernel)?(p, inputs[0], inputs[1]),
        };
        convert::store(&result, output);
        Ok(())
    }
}
