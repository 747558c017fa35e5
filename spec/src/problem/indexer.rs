//! The sparse indexer's logits problem (DeepSeek Sparse Attention's lightning indexer, as
//! DeepGEMM's `fp8_mqa_logits` computes it): every query token scores every key token in its
//! range by a weighted sum over heads of relu'd dot products.

use super::{InputSpec, ProblemKind, Storage, element_bytes};
use crate::{HostTensor, KernelError, Layout, Op, Precision, Variant};

/// logits[i, j] = c_j · Σ_h w[i, h] · relu(q[i, h, :] · k[j, :]) for j in [ks_i, ke_i), and −∞
/// for every other key (DeepGEMM's `clean_logits`).
///
/// Inputs, in order:
/// - `Q` [len_q, heads, d]: the variant's precision, or raw E4M3 codes (`fp8`), as DeepGEMM's
///   q (DeepSeek folds the query's FP8 scale into the weights).
/// - `K` [len_kv, d]: one key per token shared by every head (MQA): the variant's precision, or
///   raw E4M3 codes (`fp8`).
/// - `K_scale` [len_kv] f32, `fp8` only: c_j, one scale per key, finite and positive
///   ([`KernelError::InvalidProblem`] otherwise); c_j = 1 without it.
/// - `weights` [len_q, heads] f32 whatever the variant (DeepGEMM's weights are f32).
/// - `ranges` [len_q, 2] little-endian i32 (ks_i, ke_i) in a `Storage::Fixed(U8)` byte tensor of
///   len_q·8 bytes, each with 0 ≤ ks ≤ ke ≤ len_kv ([`KernelError::InvalidProblem`] otherwise).
///
/// The output is f32 [len_q, len_kv] whatever the variant (DeepGEMM's logits are f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SparseIndexerProblem {
    /// Query tokens.
    pub len_q: usize,
    /// Key tokens.
    pub len_kv: usize,
    /// Indexer heads (64 in DeepSeek-V3.2).
    pub heads: usize,
    /// Head width (128 in DeepSeek-V3.2).
    pub d: usize,
    /// Q and K as E4M3 codes, K with one f32 scale per key.
    pub fp8: bool,
}

impl SparseIndexerProblem {
    /// Shape of Q: [len_q, heads, d].
    pub fn q_shape(&self) -> Vec<usize> {
        vec![self.len_q, self.heads, self.d]
    }

    /// Shape of K: [len_kv, d].
    pub fn k_shape(&self) -> Vec<usize> {
        vec![self.len_kv, self.d]
    }

    /// Shape of the weights: [len_q, heads].
    pub fn weights_shape(&self) -> Vec<usize> {
        vec![self.len_q, self.heads]
    }

    /// Shape of the output: [len_q, len_kv].
    pub fn out_shape(&self) -> Vec<usize> {
        vec![self.len_q, self.len_kv]
    }

    /// Where the weights are among the inputs (after `K_scale` for FP8).
    pub fn weights_input(&self) -> usize {
        if self.fp8 { 3 } else { 2 }
    }

    /// Where the ranges are among the inputs (the last one).
    pub fn ranges_input(&self) -> usize {
        self.weights_input() + 1
    }

    /// Decodes the range bytes into (ks, ke) per query and checks 0 ≤ ks ≤ ke ≤ len_kv.
    pub fn ranges(&self, bytes: &[u8]) -> Result<Vec<(usize, usize)>, KernelError> {
        let invalid = |what: String| KernelError::InvalidProblem(format!("sparse-indexer: {what}"));
        if bytes.len() != self.len_q * 8 {
            return Err(invalid(format!(
                "{} range bytes, the problem needs {}",
                bytes.len(),
                self.len_q * 8
            )));
        }
        let word = |b: &[u8]| i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        bytes
            .chunks_exact(8)
            .enumerate()
            .map(|(i, b)| {
                let (ks, ke) = (word(&b[..4]), word(&b[4..]));
                if ks < 0 || ke < ks || ke as i64 > self.len_kv as i64 {
                    return Err(invalid(format!(
                        "range of query {i} is [{ks}, {ke}), not 0 ≤ ks ≤ ke ≤ {}",
                        self.len_kv
                    )));
                }
                Ok((ks as usize, ke as usize))
            })
            .collect()
    }

    /// Decodes the FP8 key scales and checks that each is finite and positive (a relu commutes
    /// with a positive scale only).
    pub fn key_scales(&self, scales: &HostTensor) -> Result<Vec<f32>, KernelError> {
        let out: Vec<f32> = scales
            .bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        match out.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
            Some(j) => Err(KernelError::InvalidProblem(format!(
                "sparse-indexer: key scale {j} is {}, not finite and positive",
                out[j]
            ))),
            None => Ok(out),
        }
    }

    /// Checks dimensions: all at least 1, keys addressable by an i32, sizes that fit in usize.
    pub fn validate(&self) -> Result<(), KernelError> {
        let invalid = |what: String| {
            Err(KernelError::InvalidProblem(format!(
                "sparse-indexer: {what}"
            )))
        };
        let dims = [
            ("len_q", self.len_q),
            ("len_kv", self.len_kv),
            ("heads", self.heads),
            ("d", self.d),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return invalid(format!("dimension {name} is 0"));
        }
        if self.len_kv > i32::MAX as usize {
            return invalid(format!("len_kv {} is not addressable by i32", self.len_kv));
        }
        for shape in [self.q_shape(), self.k_shape(), self.out_shape()] {
            if element_bytes(&shape).is_none() {
                return invalid(format!("{shape:?} overflows the address space"));
            }
        }
        Ok(())
    }
}

impl ProblemKind for SparseIndexerProblem {
    fn op(&self) -> Op {
        Op::SparseIndexer
    }

    fn validate(&self) -> Result<(), KernelError> {
        SparseIndexerProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let f32s = |name, shape| {
            InputSpec::new(
                name,
                shape,
                Layout::RowMajor,
                Storage::Fixed(Precision::F32),
            )
        };
        let values = |name, shape: Vec<usize>| {
            if self.fp8 {
                InputSpec::bytes(name, shape.iter().product())
            } else {
                InputSpec::new(name, shape, Layout::RowMajor, Storage::Variant)
            }
        };
        let mut specs = vec![values("Q", self.q_shape()), values("K", self.k_shape())];
        if self.fp8 {
            specs.push(f32s("K_scale", vec![self.len_kv]));
        }
        specs.push(f32s("weights", self.weights_shape()));
        specs.push(InputSpec::bytes("ranges", self.len_q * 8));
        specs
    }

    fn validate_inputs(&self, inputs: &[&HostTensor]) -> Result<(), KernelError> {
        if self.fp8 {
            self.key_scales(inputs[2])?;
        }
        self.ranges(&inputs[self.ranges_input()].bytes).map(|_| ())
    }

    fn output_precision(&self, _variant: Variant) -> Precision {
        Precision::F32
    }

    fn output_shape(&self) -> Vec<usize> {
        self.out_shape()
    }

    fn work(&self) -> usize {
        [self.len_kv, self.heads, self.d]
            .iter()
            .fold(self.len_q, |acc, &d| acc.saturating_mul(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(fp8: bool) -> SparseIndexerProblem {
        SparseIndexerProblem {
            len_q: 2,
            len_kv: 5,
            heads: 4,
            d: 8,
            fp8,
        }
    }

    fn bytes(words: &[i32]) -> Vec<u8> {
        words.iter().flat_map(|j| j.to_le_bytes()).collect()
    }

    #[test]
    fn ranges_must_lie_within_the_keys() {
        let p = problem(false);
        assert_eq!(
            p.ranges(&bytes(&[0, 5, 3, 3])).unwrap(),
            vec![(0, 5), (3, 3)]
        );
        for bad in [[0, 6, 0, 1], [-1, 2, 0, 1], [0, 1, 3, 2]] {
            let err = p.ranges(&bytes(&bad)).unwrap_err().to_string();
            assert!(err.contains("range of query"), "{err}");
        }
        assert!(p.ranges(&bytes(&[0, 1])).is_err());
    }

    #[test]
    fn fp8_adds_key_scales_and_they_must_be_positive() {
        let dense = problem(false).input_specs();
        let fp8 = problem(true).input_specs();
        assert_eq!(dense.len(), 4);
        assert_eq!(fp8.len(), 5);
        assert_eq!(fp8[0].shape, vec![2 * 4 * 8]);
        assert_eq!(fp8[2].name, "K_scale");
        let scales = |v: &[f32]| HostTensor {
            shape: vec![v.len()],
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        let p = problem(true);
        assert!(p.key_scales(&scales(&[1.0, 0.5])).is_ok());
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(p.key_scales(&scales(&[1.0, bad])).is_err(), "{bad}");
        }
        assert!(
            SparseIndexerProblem {
                heads: 0,
                ..problem(false)
            }
            .validate()
            .is_err()
        );
    }
}
