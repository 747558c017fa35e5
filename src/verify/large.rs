//! Large matmuls end to end: seeded inputs, one launch on a backend, and the Freivalds check of
//! the output — what `crosscheck bench` times against the full oracle, and what the tests break.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crosscheck_reference::codec;
use crosscheck_spec::{Backend, HostTensor, Layout, MatmulProblem, OutputBuffer, Problem, Variant};

use crate::generate::data::normal;
use crate::verify::freivalds::{FreivaldsPlan, FreivaldsVerdict, verify_matmul};

/// A square-ish problem with row-major operands and no batch.
pub fn problem(m: usize, n: usize, k: usize) -> MatmulProblem {
    MatmulProblem {
        batch: 1,
        m,
        n,
        k,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    }
}

/// Standard-normal inputs stored in `precision`, seeded.
pub fn inputs(p: &MatmulProblem, variant: Variant, seed: u64) -> (HostTensor, HostTensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tensor = |shape: Vec<usize>, layout| {
        let len = shape.iter().product();
        let values: Vec<f32> = (0..len).map(|_| normal(&mut rng)).collect();
        HostTensor {
            shape,
            layout,
            precision: variant.precision,
            bytes: codec::encode(variant.precision, &values),
        }
    };
    (
        tensor(p.a_shape(), p.a_layout),
        tensor(p.b_shape(), p.b_layout),
    )
}

/// Output of one launch, decoded exactly, and the time the launch took.
pub fn launch(
    backend: &Arc<dyn Backend>,
    kernel: &str,
    variant: Variant,
    p: &MatmulProblem,
    a: &HostTensor,
    b: &HostTensor,
) -> Result<(Vec<f64>, Duration), String> {
    let problem = Problem::Matmul(*p);
    backend
        .check(kernel, variant, &problem)
        .map_err(|e| e.to_string())?;
    let precision = problem.output_precision(variant);
    let mut out = OutputBuffer::new(precision, problem.output_len(), 0);
    let started = Instant::now();
    backend
        .run(kernel, variant, &problem, &[a, b], &mut out)
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let values = out
        .payload()
        .chunks_exact(precision.bytes())
        .map(|e| codec::bits_to_f64(precision, precision.bits(e)))
        .collect();
    Ok((values, elapsed))
}

/// Runs `kernel` once on a fresh seeded problem and verifies it with Freivalds' check; also
/// returns the verification's own time.
pub fn run_and_verify(
    backend: &Arc<dyn Backend>,
    kernel: &str,
    variant: Variant,
    p: &MatmulProblem,
    plan: &FreivaldsPlan,
) -> Result<(FreivaldsVerdict, Duration), String> {
    let (a, b) = inputs(p, variant, plan.seed);
    let (c, _) = launch(backend, kernel, variant, p, &a, &b)?;
    let contract = crate::testing::contract_of(
        backend.as_ref(),
        crosscheck_spec::Op::Matmul,
        kernel,
        variant,
    )
    .ok_or_else(|| {
        format!(
            "{} has no matmul kernel `{kernel}` in {variant}",
            backend.name()
        )
    })?;
    let out = Problem::Matmul(*p).output_precision(variant);
    let started = Instant::now();
    let verdict = verify_matmul(p, &a, &b, &c, &contract, out, plan);
    Ok((verdict, started.elapsed()))
}
