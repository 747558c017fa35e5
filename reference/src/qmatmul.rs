//! The f64 oracle of quantized matmuls: C = A · Wᵀ from the exactly dequantized operands, with
//! the gauge Σ|a||w| the accumulation bound scales with.

use crosscheck_spec::{HostTensor, QuantMatmulProblem};

use crate::{codec, quant};

/// Oracle output: per element of the row-major m×n result, its value and gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantMatmulReference {
    /// Σ_k a_mk · w_nk of the exact dequantized values.
    pub values: Vec<f64>,
    /// Σ_k |a_mk · w_nk|.
    pub gauge: Vec<f64>,
}

/// Computes the reference from the stored operands (A as the problem says, W quantized).
pub fn qmatmul(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> QuantMatmulReference {
    let a_values: Vec<f64> = match p.activations() {
        None => codec::decode(a.precision, &a.bytes)
            .into_iter()
            .map(f64::from)
            .collect(),
        Some(format) => quant::dequantize_exact(format, p.m, p.k, &a.bytes),
    };
    let w_values = quant::dequantize_exact(p.weights, p.n, p.k, &w.bytes);
    let mut values = Vec::with_capacity(p.m * p.n);
    let mut gauge = Vec::with_capacity(p.m * p.n);
    for a_row in a_values.chunks_exact(p.k) {
        for w_row in w_values.chunks_exact(p.k) {
            let (v, g) = a_row
                .iter()
                .zip(w_row)
                .fold((0.0, 0.0), |(v, g), (x, y)| (v + x * y, g + (x * y).abs()));
            values.push(v);
            gauge.push(g);
        }
    }
    QuantMatmulReference { values, gauge }
}
