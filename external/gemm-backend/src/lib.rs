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

/// What the libraries promise, as crosscheck measured it: IEEE arithmetic with products and sums
/// in some order (FMA allowed), the result rounded to the storage precision, the same bits on
/// every run. gemm's f16 results only fit an f16 accumulator (1 ulp off a correctly rounded f32
/// sum at m = n = 1, k = 61), and gemm takes other paths for small launches, so its rows are not
/// batch-invariant (up to 384 ulp between a row of a 193-row launch and the same row alone).
fn contract(kernel: &str, precision: Precision) -> NumericContract {
    let accumulator = match (kernel, precision) {
        ("gemm", Precision::F16) => Accumulator::F16,
        _ => Accumulator::F32,
    };
    NumericContract {
        accumulator,
        batch_invariant: kernel == "matrixmultiply",
        ..NumericContract::IEEE_F32
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
        let variant =
            |name: &str, p| VariantInfo::available(Variant::portable(p), contract(name, p));
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
        match (kernel, variant.precision) {
            ("gemm", Precision::F32) => batches(p, inputs, output, |x| x, |x| x, gemm),
            ("gemm", _) => batches(p, inputs, output, f16::from_f32, f16::to_f32, gemm),
            _ => batches(p, inputs, output, |x| x, |x| x, sgemm),
        }
        Ok(())
    }
}

/// A matrix operand of one batch entry: its elements, row stride and column stride.
type Operand<'a, T> = (&'a [T], isize, isize);

/// Decodes A and B into `T` (exactly: they are stored in that precision), multiplies every batch
/// entry (B broadcast or not) with `product` and stores C.
fn batches<T>(
    p: &MatmulProblem,
    inputs: &[&HostTensor],
    output: &mut OutputBuffer,
    from_f32: fn(f32) -> T,
    to_f32: fn(T) -> f32,
    product: fn(&MatmulProblem, Operand<T>, Operand<T>) -> Vec<T>,
) {
    let [a, b] = [0, 1].map(|i| {
        inputs[i]
            .to_f32()
            .into_iter()
            .map(from_f32)
            .collect::<Vec<_>>()
    });
    let (a_rs, a_cs) = inputs[0].layout.strides(p.m, p.k);
    let (b_rs, b_cs) = inputs[1].layout.strides(p.k, p.n);
    for batch in 0..p.batch {
        let b_at = if p.b_broadcast { 0 } else { batch * p.k * p.n };
        let a = (&a[batch * p.m * p.k..], a_rs as isize, a_cs as isize);
        let c = product(p, a, (&b[b_at..], b_rs as isize, b_cs as isize));
        for (i, v) in c.into_iter().enumerate() {
            output.write(batch * p.m * p.n + i, to_f32(v));
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
