//! The indexer bound (docs/numerics.md, "The sparse indexer bound"): per logit, the error the
//! contract allows a weighted sum over heads of relu'd dot products, derived from the
//! accumulator's unit roundoff and the oracle's gauge c·Σ_h |w_h|·Σ_i |q_hi k_ji|.

use crosscheck_spec::{NumericContract, SparseIndexerProblem};

use crate::judge::bound::{gamma, gauge_rounding_factor, underflow_error};

/// Unit roundoff of the f64 oracle.
const ORACLE_UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 53) as f64;

/// Roundings on the way from one product q_hi·k_ji into the logit: the product, at most d − 1
/// additions of the dot product, the product with w_h, at most heads − 1 additions over heads,
/// and for FP8 the product with the key's scale.
pub fn roundings(p: &SparseIndexerProblem) -> usize {
    p.d + p.heads + usize::from(p.fp8)
}

/// Allowed accumulated error of each logit before the final rounding:
/// (γ_n(u) + γ_n(u_f64))·(1 + γ_{2n+16}(u_f64))·G + 2·(2d·W + 2·heads + 2)·η with
/// n = [`roundings`], G the oracle's gauge and W = c·Σ_h |w_h|. relu is 1-Lipschitz, so a dot
/// product off by e gives a relu off by at most e, whichever side of 0 either falls. Masked
/// logits (−∞, gauge 0) are judged exactly.
pub fn indexer(
    contract: &NumericContract,
    p: &SparseIndexerProblem,
    gauge: &[f64],
    weight_gauge: &[f64],
) -> Vec<f64> {
    let n = roundings(p);
    let relative = (gamma(n, contract.unit_roundoff()) + gamma(n, ORACLE_UNIT_ROUNDOFF))
        * gauge_rounding_factor(n);
    let eta = underflow_error(contract);
    gauge
        .iter()
        .zip(weight_gauge)
        .map(|(g, w)| {
            // Each dot product underflows at most 2d times, each error carried by |w_h|·c; the
            // head sum and the scale add at most 2·heads + 2 more; doubled for their rounding.
            let floor = 2.0 * (2.0 * p.d as f64 * w + (2 * p.heads + 2) as f64 * w.max(1.0)) * eta;
            relative * g + floor
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_width_heads_and_fp8() {
        let p = SparseIndexerProblem {
            len_q: 1,
            len_kv: 1,
            heads: 64,
            d: 128,
            fp8: false,
        };
        let c = NumericContract::IEEE_F32;
        let dense = indexer(&c, &p, &[1.0], &[0.0])[0];
        let fp8 = indexer(&c, &SparseIndexerProblem { fp8: true, ..p }, &[1.0], &[0.0])[0];
        let u = crosscheck_spec::pow2(-24);
        assert!(dense > 192.0 * u && dense < 193.0 * u, "{}", dense / u);
        assert!(fp8 > dense);
    }
}
