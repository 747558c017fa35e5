//! The `cpu` backend: native Rust kernels, f32 arithmetic, outputs rounded to nearest even.

mod attention_flash;
mod attention_naive;
mod attention_rows;
mod convert;
mod matmul_naive;
mod matmul_tiled;

use crosscheck_spec::{
    Accumulator, AttentionProblem, Backend, DeviceInfo, FunctionAccuracy, HostTensor, KernelError,
    KernelInfo, MatmulProblem, NumericContract, Op, OutputBuffer, OutputRounding, Precision,
    Problem, Softmax, Subnormals, Variant, VariantInfo,
};

/// The CPU backend. Always available.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

/// A CPU kernel: the f32 output (row-major) from the inputs.
#[derive(Clone, Copy)]
enum Kernel {
    Matmul(fn(&MatmulProblem, &HostTensor, &HostTensor) -> Vec<f32>),
    Attention(fn(&AttentionProblem, &HostTensor, &HostTensor, &HostTensor) -> Vec<f32>),
}

/// One registered kernel.
struct Entry {
    op: Op,
    name: &'static str,
    summary: &'static str,
    kernel: Kernel,
    softmax: Softmax,
}

/// The registry: one entry per kernel.
const KERNELS: &[Entry] = &[
    Entry {
        op: Op::Matmul,
        name: "naive",
        summary: "triple loop, one f32 dot product per output element",
        kernel: Kernel::Matmul(matmul_naive::matmul),
        softmax: Softmax::TwoPass,
    },
    Entry {
        op: Op::Matmul,
        name: "tiled",
        summary: "cache-blocked, 4-row register block, vectorisable inner loop, rayon threads",
        kernel: Kernel::Matmul(matmul_tiled::matmul),
        softmax: Softmax::TwoPass,
    },
    Entry {
        op: Op::Attention,
        name: "naive",
        summary: "materialised scores, row max, exp, sum, then P·V",
        kernel: Kernel::Attention(attention_naive::attention),
        softmax: Softmax::TwoPass,
    },
    Entry {
        op: Op::Attention,
        name: "flash",
        summary: "streaming over tiles of 32 keys with an online softmax (running max, rescaling)",
        kernel: Kernel::Attention(attention_flash::attention),
        softmax: Softmax::Online {
            key_tile: attention_flash::KEY_TILE,
        },
    },
];

/// What the CPU kernels declare: f32 arithmetic with IEEE subnormals, round-to-nearest-even
/// outputs, correctly rounded division, the platform's expf within 1 ulp, and a computed
/// 1/√d (a square root and a division) within 1.5 ulp.
fn contract(softmax: Softmax) -> NumericContract {
    NumericContract {
        accumulator: Accumulator::F32,
        output_rounding: OutputRounding::NearestEven,
        subnormals: Subnormals::Preserved,
        functions: FunctionAccuracy {
            exp_ulp: 1.0,
            exp_ulp_per_unit: 0.0,
            div_ulp: 0.5,
            inverse_sqrt_ulp: 1.5,
        },
        softmax,
        deterministic: true,
        batch_invariant: true,
    }
}

impl CpuBackend {
    fn entry(kernel: &str, op: Op) -> Result<&'static Entry, KernelError> {
        KERNELS
            .iter()
            .find(|e| e.name == kernel && e.op == op)
            .ok_or_else(|| KernelError::Unsupported(format!("cpu has no {op} kernel `{kernel}`")))
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
        KERNELS
            .iter()
            .map(|e| KernelInfo {
                op: e.op,
                name: e.name.to_string(),
                summary: e.summary.to_string(),
                variants: Precision::ALL
                    .into_iter()
                    .map(|p| VariantInfo {
                        variant: Variant::portable(p),
                        contract: contract(e.softmax),
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
        Self::entry(kernel, problem.op()).map(|_| ())
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
        let result = match (Self::entry(kernel, problem.op())?.kernel, problem) {
            (Kernel::Matmul(f), Problem::Matmul(p)) => f(p, inputs[0], inputs[1]),
            (Kernel::Attention(f), Problem::Attention(p)) => f(p, inputs[0], inputs[1], inputs[2]),
            _ => {
                return Err(KernelError::Unsupported(format!(
                    "`{kernel}` is not a {} kernel",
                    problem.op()
                )));
            }
        };
        convert::store(&result, output);
        Ok(())
    }
}
