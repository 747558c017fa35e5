//! Bring your own backend: two third-party CPU matmuls (the `gemm` crate in f32 and f16, and
//! `matrixmultiply`'s f32 `sgemm`) wrapped as a crosscheck backend that depends only on
//! `crosscheck-spec`. The harness asks `check` first, hands `run` the stored inputs and judges
//! the output against its f64 oracle under the contract declared in `kernels`.

use crosscheck_spec::*;
use gemm::{Parallelism, f16};

/// The `gemm` and `matrixmultiply` crates as one backend named `external-gemm`.
pub struct GemmBackend;

/// The kernels and the precisions each is offered in.
const KERNELS: [(&str, &[Precision]); 2] = [
    ("gemm", &[Precision::F32, Precision::F16]),
    ("matrixmultiply", &[Precision::F32]),
];

/// What the libraries promise, as crosscheck measured it: products and sums in some order (FMA
/// allowed), the result rounded to the storage precision, IEEE subnormals, the same bits on every
/// run. gemm's f16 results only fit an f16 accumulator (1 ulp off a correctly rounded f32 sum at
/// m = n = 1, k = 61), and gemm takes other paths for small launches, so its rows are not
/// batch-invariant (up to 384 ulp between a row of a 193-row launch and the same row alone).
fn contract(kernel: &str, precision: Precision) -> NumericContract {
    let f16_sums = kernel == "gemm" && precision == Precision::F16;
    NumericContract {
        accumulator: if f16_sums {
            Accumulator::F16
        } else {
            Accumulator::F32
        },
        output_rounding: OutputRounding::NearestEven,
        subnormals: Subnormals::Preserved,
        functions: FunctionAccuracy::WGSL, // no exp or division in a matmul
        softmax: Softmax::TwoPass,         // no softmax in a matmul
        deterministic: true,
        batch_invariant: kernel == "matrixmultiply",
    }
}

impl Backend for GemmBackend {
    fn name(&self) -> &str {
        "external-gemm"
    }
    #[rustfmt::skip]
    fn device(&self) -> DeviceInfo {
        DeviceInfo { api: "cpu".into(), device: std::env::consts::ARCH.into(), driver: "gemm 0.19 · matrixmultiply 0.3".into() }
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        let variant = |name: &str, p: Precision| VariantInfo {
            variant: Variant::portable(p),
            contract: contract(name, p),
            unavailable: None,
        };
        let kernel = |(name, precisions): (&str, &[Precision])| KernelInfo {
            op: Op::Matmul,
            name: name.into(),
            summary: format!("the `{name}` crate's CPU matmul"),
            variants: precisions.iter().map(|&p| variant(name, p)).collect(),
        };
        KERNELS.into_iter().map(kernel).collect()
    }
    #[rustfmt::skip]
    fn run(&self, kernel: &str, variant: Variant, problem: &Problem, inputs: &[&HostTensor],
        output: &mut OutputBuffer) -> Result<(), KernelError> {
        self.check(kernel, variant, problem)?; // the trait's default: a listed kernel and variant
        problem.validate_buffers(variant, inputs, output)?;
        let Problem::Matmul(p) = problem else { unreachable!("check admits matmul only") };
        let c = output.payload_mut();
        let (f16_in, f16_out) = (|x| f16::from_bits(u16::from_le_bytes(x)), |x: f16| x.to_bits().to_le_bytes());
        match (kernel, variant.precision) {
            ("gemm", Precision::F32) => batches(p, inputs, c, f32::from_le_bytes, f32::to_le_bytes, gemm),
            ("gemm", _) => batches(p, inputs, c, f16_in, f16_out, gemm),
            _ => batches(p, inputs, c, f32::from_le_bytes, f32::to_le_bytes, sgemm),
        }
        Ok(())
    }
}

/// A matrix operand of one batch entry: its elements, row stride and column stride.
type Operand<'a, T> = (&'a [T], isize, isize);

/// A row-major m×n product of two operands.
type Product<T> = fn(&MatmulProblem, Operand<T>, Operand<T>) -> Vec<T>;

/// Decodes A and B, multiplies every batch entry (B broadcast or not) and stores C.
fn batches<T, const N: usize>(
    p: &MatmulProblem,
    inputs: &[&HostTensor],
    c: &mut [u8],
    decode: fn([u8; N]) -> T,
    encode: fn(T) -> [u8; N],
    product: Product<T>,
) {
    let elements = |t: &HostTensor| -> Vec<T> {
        t.bytes
            .chunks_exact(N)
            .map(|x| decode(x.try_into().unwrap()))
            .collect()
    };
    let (a, b) = (elements(inputs[0]), elements(inputs[1]));
    let (a_rs, a_cs) = inputs[0].layout.strides(p.m, p.k);
    let (b_rs, b_cs) = inputs[1].layout.strides(p.k, p.n);
    for (batch, c) in c.chunks_exact_mut(p.m * p.n * N).enumerate() {
        let b_at = if p.b_broadcast { 0 } else { batch * p.k * p.n };
        let a = (&a[batch * p.m * p.k..], a_rs as isize, a_cs as isize);
        let out = product(p, a, (&b[b_at..], b_rs as isize, b_cs as isize));
        for (slot, v) in c.chunks_exact_mut(N).zip(out) {
            slot.copy_from_slice(&encode(v));
        }
    }
}

/// `gemm::gemm` (dst := alpha·dst + beta·A·B) with beta = 1 and dst not read.
#[rustfmt::skip]
fn gemm<T: Copy + From<u8> + 'static>(p: &MatmulProblem, (a, a_rs, a_cs): Operand<T>, (b, b_rs, b_cs): Operand<T>) -> Vec<T> {
    let (mut c, n) = (vec![T::from(0); p.m * p.n], p.n as isize);
    // SAFETY: the strides keep every index inside a, b (sliced at their batch entry) and c.
    unsafe { gemm::gemm(p.m, p.n, p.k, c.as_mut_ptr(), 1, n, false, a.as_ptr(), a_cs, a_rs,
        b.as_ptr(), b_cs, b_rs, T::from(0), T::from(1), false, false, false, Parallelism::Rayon(0)) };
    c
}

/// `matrixmultiply::sgemm` (C := alpha·A·B + beta·C) with alpha = 1 and beta = 0.
#[rustfmt::skip]
fn sgemm(p: &MatmulProblem, (a, a_rs, a_cs): Operand<f32>, (b, b_rs, b_cs): Operand<f32>) -> Vec<f32> {
    let (mut c, n) = (vec![0.0; p.m * p.n], p.n as isize);
    // SAFETY: as for gemm.
    unsafe { matrixmultiply::sgemm(p.m, p.k, p.n, 1.0, a.as_ptr(), a_rs, a_cs, b.as_ptr(), b_rs, b_cs,
        0.0, c.as_mut_ptr(), n, 1) };
    c
}
