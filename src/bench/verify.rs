//! The cost of verifying one large matmul: the kernel's launch, Freivalds' check and the full
//! f64 oracle, timed on the same product.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crosscheck_reference::matmul::matmul as full_oracle;
use crosscheck_spec::{Backend, Precision, Problem, Variant};

use crate::run::memory;
use crate::verify::freivalds::{FreivaldsPlan, verify_matmul};
use crate::verify::large::{inputs, launch, problem};

/// What verifying an n³ product cost.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationCost {
    /// Side of the product.
    pub n: usize,
    /// Backend and kernel that computed it.
    pub kernel: String,
    /// The kernel's launch, seconds.
    pub kernel_s: f64,
    /// Freivalds' check (vectors and sampled elements), seconds.
    pub freivalds_s: f64,
    /// Random vectors and sampled elements used.
    pub vectors: usize,
    /// Sampled, fully recomputed elements.
    pub samples: usize,
    /// Freivalds passed.
    pub freivalds_passed: bool,
    /// The full f64 oracle (values and gauges), seconds; None when skipped.
    pub oracle_s: Option<f64>,
}

/// The host memory [`verification_cost`] needs for an n³ product, in bytes (saturating): one
/// launch ([`memory::launch_bytes`]), then the output decoded to f64 and Freivalds' f32 copies
/// of A and B (16·n²), and with the oracle its f32 inputs, f64 values and gauges and f64 rows of
/// B (32·n²), times [`memory::SAFETY_FACTOR`].
pub fn verification_bytes(n: usize, with_oracle: bool) -> u128 {
    let launch = memory::launch_bytes(
        &Problem::Matmul(problem(n, n, n)),
        Variant::portable(Precision::F32),
    );
    let per_element = if with_oracle { 16 + 32 } else { 16 };
    let checks = memory::product(&[n, n]).saturating_mul(per_element);
    launch.saturating_add(memory::with_safety(checks))
}

/// Computes an n³ f32 product with `kernel` on `backend` and times both verifications.
pub fn verification_cost(
    backend: &Arc<dyn Backend>,
    kernel: &str,
    n: usize,
    with_oracle: bool,
) -> Result<VerificationCost, String> {
    let variant = Variant::portable(Precision::F32);
    let p = problem(n, n, n);
    let plan = FreivaldsPlan::default();
    let (a, b) = inputs(&p, variant, plan.seed);
    let (c, kernel_time) = launch(backend, kernel, variant, &p, &a, &b)?;
    let contract = crate::testing::contract_of(
        backend.as_ref(),
        crosscheck_spec::Op::Matmul,
        kernel,
        variant,
    )
    .ok_or_else(|| format!("{} has no f32 matmul kernel `{kernel}`", backend.name()))?;
    let started = Instant::now();
    let verdict = verify_matmul(&p, &a, &b, &c, &contract, Precision::F32, &plan);
    let freivalds_s = started.elapsed().as_secs_f64();
    let oracle_s = with_oracle.then(|| {
        let started = Instant::now();
        std::hint::black_box(full_oracle(&p, &a, &b));
        started.elapsed().as_secs_f64()
    });
    Ok(VerificationCost {
        n,
        kernel: format!("{}/{kernel}", backend.name()),
        kernel_s: kernel_time.as_secs_f64(),
        freivalds_s,
        vectors: plan.vectors,
        samples: plan.samples,
        freivalds_passed: verdict.passed(),
        oracle_s,
    })
}
