//! Per-element error allowances derived from a kernel's declared contract (see docs/numerics.md).

use crosscheck_spec::{NumericContract, Subnormals};

/// Unit roundoff of the f64 oracle.
const ORACLE_UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 53) as f64;

/// γ_n(u) = n·u / (1 − n·u): the relative error bound of n rounded operations. Infinite when
/// n·u ≥ 1 (the bound says nothing).
pub fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    if nu < 1.0 {
        nu / (1.0 - nu)
    } else {
        f64::INFINITY
    }
}

/// Absolute error one underflowing operation may add: half the smallest subnormal with gradual
/// underflow, the smallest normal when subnormal results may be flushed.
pub fn underflow_error(contract: &NumericContract) -> f64 {
    let acc = contract.accumulator;
    match contract.subnormals {
        Subnormals::Preserved => acc.unit_roundoff() * acc.min_normal(),
        Subnormals::MayFlush => acc.min_normal(),
    }
}

/// Allowed accumulated error of each element of a matmul with dot products of length `k`, before
/// the final rounding to the output precision:
/// (γ_k(u_acc) + γ_k(u_f64))·Σ|a||b| + 2k·η.
/// The first term covers any summation order (and fused or unfused multiply-adds), the second
/// the oracle's own f64 rounding, the third underflow in the k products and k sums.
pub fn matmul(contract: &NumericContract, k: usize, gauge: &[f64]) -> Vec<f64> {
    let relative = gamma(k, contract.accumulator.unit_roundoff()) + gamma(k, ORACLE_UNIT_ROUNDOFF);
    let floor = 2.0 * k as f64 * underflow_error(contract);
    gauge.iter().map(|g| relative * g + floor).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_is_the_textbook_constant() {
        let u = (2.0f64).powi(-24);
        assert_eq!(gamma(1, u), u / (1.0 - u));
        let nu = 1000.0 * u;
        assert!(gamma(1000, u) > nu && gamma(1000, u) < nu * (1.0 + 2.0 * nu));
        assert_eq!(gamma(1 << 24, u), f64::INFINITY);
    }
}
