//! The sparse indexer's operands as the CPU kernels read them: Q and K in f32 (decoded from the
//! variant's precision, or from E4M3 codes), the FP8 key scales (none for dense inputs), the
//! weights, and a helper that writes −∞ outside each query's range.

use crosscheck_spec::{HostTensor, SparseIndexerProblem};

use super::quant::e4m3;

/// Q [len_q, heads, d], K [len_kv, d] and the weights [len_q, heads] in f32, with the key scales
/// of an FP8 problem.
pub struct Operands {
    /// Q in f32.
    pub q: Vec<f32>,
    /// K in f32 (E4M3 codes decoded, unscaled).
    pub k: Vec<f32>,
    /// One scale per key (FP8), applied after the head sum as DeepGEMM does.
    pub scales: Option<Vec<f32>>,
    /// The head weights.
    pub w: Vec<f32>,
}

impl Operands {
    /// Reads the inputs in [`SparseIndexerProblem`]'s order.
    pub fn new(p: &SparseIndexerProblem, inputs: &[&HostTensor]) -> Operands {
        let values = |t: &HostTensor| -> Vec<f32> {
            if p.fp8 {
                t.bytes.iter().map(|&b| e4m3::to_f32(b)).collect()
            } else {
                t.to_f32()
            }
        };
        Operands {
            q: values(inputs[0]),
            k: values(inputs[1]),
            scales: p.fp8.then(|| inputs[2].to_f32()),
            w: inputs[p.weights_input()].to_f32(),
        }
    }

    /// The logit from the weighted head sum of key `j` (times its scale for FP8).
    pub fn finish(&self, j: usize, sum: f32) -> f32 {
        match &self.scales {
            Some(c) => sum * c[j],
            None => sum,
        }
    }
}

/// A logits row of −∞ (DeepGEMM's cleaned logits), to be filled inside the range.
pub fn masked_rows(p: &SparseIndexerProblem) -> Vec<f32> {
    vec![f32::NEG_INFINITY; p.len_q * p.len_kv]
}

/// max(x, 0) that keeps NaN (f32::max would turn it into 0).
pub fn relu(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}
