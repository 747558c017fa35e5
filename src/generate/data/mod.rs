//! Seeded input tensors for a case. Values are drawn in f32, rounded to the storage precision by
//! the reference codec, and the stored bytes are what both the kernel and the oracle read.

use crosscheck_reference::codec;
use crosscheck_spec::{HostTensor, Layout, Precision};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::case::Case;
pub use crate::ops::matmul::data::{exact_limit, wide_exponents};

/// The inputs of `case`, in the order the backend receives them (drawn by its op family).
pub fn inputs(case: &Case) -> Vec<HostTensor> {
    crate::ops::of(&case.problem).inputs(case)
}

/// An independent, reproducible random stream per (seed, tensor).
pub(crate) fn stream(seed: u64, tensor: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(tensor);
    rng
}

/// A standard normal sample (Box–Muller).
pub fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// A uniform sample on [-1, 1].
pub(crate) fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    rng.random_range(-1.0f32..=1.0)
}

/// Turns some of `values` into special values of `precision`: about 5 % −0, 5 % subnormals
/// of the storage precision, and, when `non_finite`, about 1 % ±∞ and one NaN.
pub(crate) fn sprinkle_specials(
    values: &mut [f32],
    precision: Precision,
    non_finite: bool,
    rng: &mut ChaCha8Rng,
) {
    let tiny = precision.min_subnormal() as f32;
    let subnormal_codes = (1u32 << (precision.digits() - 1)) - 1;
    for v in values.iter_mut() {
        let sign = if rng.random::<bool>() { -1.0 } else { 1.0 };
        match rng.random_range(0..100) {
            0..5 => *v = -0.0,
            5..10 => *v = sign * tiny * rng.random_range(1..=subnormal_codes) as f32,
            10 if non_finite => *v = sign * f32::INFINITY,
            _ => {}
        }
    }
    if non_finite && !values.is_empty() {
        let at = rng.random_range(0..values.len());
        values[at] = f32::NAN;
    }
}

/// Stores `values` in `precision` (rounded to nearest even by the reference codec).
pub(crate) fn tensor(
    shape: Vec<usize>,
    layout: Layout,
    precision: Precision,
    values: &[f32],
) -> HostTensor {
    HostTensor {
        shape,
        layout,
        precision,
        bytes: codec::encode(precision, values),
    }
}
