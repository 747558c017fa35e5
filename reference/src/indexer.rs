//! The f64 oracle of the sparse indexer's logits (DeepSeek Sparse Attention's lightning
//! indexer): for every query and every key in its range, c_j · Σ_h w_h · relu(q_h · k_j) in
//! plain f64 loops over the exact stored inputs, with the magnitude gauges its bound needs.

use crosscheck_spec::{HostTensor, SparseIndexerProblem};

use crate::codec;
use crate::quant::e4m3_bits_to_f32;

/// The oracle's logits and gauges, row-major [len_q, len_kv].
pub struct IndexerReference {
    /// The logits; −∞ outside a query's range.
    pub values: Vec<f64>,
    /// c_j · Σ_h |w_h| · Σ_i |q_hi · k_ji|; 0 outside a query's range.
    pub gauge: Vec<f64>,
    /// c_j · Σ_h |w_h| per element, for the underflow floor; 0 outside a query's range.
    pub weight_gauge: Vec<f64>,
}

/// Q, K and the key scales as exact values: decoded from the variant's precision, or E4M3 codes
/// with the FP8 scales (1 per key without them).
fn operands(p: &SparseIndexerProblem, inputs: &[HostTensor]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let decode = |t: &HostTensor| -> Vec<f64> {
        if p.fp8 {
            t.bytes
                .iter()
                .map(|&b| f64::from(e4m3_bits_to_f32(b)))
                .collect()
        } else {
            codec::decode(t.precision, &t.bytes)
                .into_iter()
                .map(f64::from)
                .collect()
        }
    };
    let scales = if p.fp8 {
        codec::decode(inputs[2].precision, &inputs[2].bytes)
            .into_iter()
            .map(f64::from)
            .collect()
    } else {
        vec![1.0; p.len_kv]
    };
    (decode(&inputs[0]), decode(&inputs[1]), scales)
}

/// Computes the logits of `p` from its stored inputs (in [`SparseIndexerProblem`]'s order) and
/// the decoded, checked ranges. A NaN input makes the elements it reaches NaN, as IEEE arithmetic
/// on the definition does (relu of NaN is NaN).
pub fn indexer(
    p: &SparseIndexerProblem,
    inputs: &[HostTensor],
    ranges: &[(usize, usize)],
) -> IndexerReference {
    let (q, k, scales) = operands(p, inputs);
    let w_in = &inputs[p.weights_input()];
    let w: Vec<f64> = codec::decode(w_in.precision, &w_in.bytes)
        .into_iter()
        .map(f64::from)
        .collect();
    let n = p.len_q * p.len_kv;
    let mut out = IndexerReference {
        values: vec![f64::NEG_INFINITY; n],
        gauge: vec![0.0; n],
        weight_gauge: vec![0.0; n],
    };
    for (i, &(ks, ke)) in ranges.iter().enumerate() {
        let w_row = &w[i * p.heads..][..p.heads];
        let abs_w: f64 = w_row.iter().map(|x| x.abs()).sum();
        for j in ks..ke {
            let k_row = &k[j * p.d..][..p.d];
            let (mut logit, mut gauge) = (0.0f64, 0.0f64);
            for (h, w_h) in w_row.iter().enumerate() {
                let q_row = &q[(i * p.heads + h) * p.d..][..p.d];
                let (mut dot, mut abs) = (0.0f64, 0.0f64);
                for (x, y) in q_row.iter().zip(k_row) {
                    dot += x * y;
                    abs += (x * y).abs();
                }
                logit += w_h * relu(dot);
                gauge += w_h.abs() * abs;
            }
            let at = i * p.len_kv + j;
            out.values[at] = scales[j] * logit;
            out.gauge[at] = scales[j] * gauge;
            out.weight_gauge[at] = scales[j] * abs_w;
        }
    }
    out
}

/// max(x, 0), NaN for NaN.
fn relu(x: f64) -> f64 {
    if x.is_nan() { x } else { x.max(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Layout, Precision};

    fn f32s(shape: Vec<usize>, values: &[f32]) -> HostTensor {
        HostTensor {
            shape,
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: codec::encode(Precision::F32, values),
        }
    }

    #[test]
    fn relu_per_head_weights_per_head_and_ranges() {
        // Two heads of width 2, three keys; query 0 sees keys [0, 2), query 1 sees key 2 only.
        let p = SparseIndexerProblem {
            len_q: 2,
            len_kv: 3,
            heads: 2,
            d: 2,
            fp8: false,
        };
        let q = f32s(p.q_shape(), &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, -1.0, 0.0]);
        let k = f32s(p.k_shape(), &[2.0, -3.0, -1.0, 4.0, 1.0, 1.0]);
        let w = f32s(p.weights_shape(), &[0.5, 2.0, 1.0, -1.0]);
        let r = indexer(&p, &[q, k, w], &[(0, 2), (2, 3)]);
        // q0·k0: head 0 gives 2, head 1 gives −3 (relu 0): 0.5·2 = 1.
        // q0·k1: head 0 gives −1 (0), head 1 gives 4: 2·4 = 8.
        // q1·k2: head 0 gives 2, head 1 gives −1 (0): 1·2 = 2.
        assert_eq!(
            r.values,
            vec![
                1.0,
                8.0,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
                2.0
            ]
        );
        assert_eq!(r.gauge[0], 0.5 * 2.0 + 2.0 * 3.0);
        assert_eq!(r.weight_gauge[5], 2.0);
    }

    #[test]
    fn fp8_codes_times_the_key_scale() {
        let p = SparseIndexerProblem {
            len_q: 1,
            len_kv: 1,
            heads: 1,
            d: 1,
            fp8: true,
        };
        let byte = |x: f32| HostTensor {
            shape: vec![1],
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes: vec![crate::quant::f32_to_e4m3_bits(x)],
        };
        let inputs = [
            byte(1.5),
            byte(-2.0),
            f32s(vec![1], &[0.25]),
            f32s(vec![1, 1], &[3.0]),
        ];
        assert_eq!(indexer(&p, &inputs, &[(0, 1)]).values, vec![0.0]);
        let inputs = [byte(1.5), byte(2.0), inputs[2].clone(), inputs[3].clone()];
        assert_eq!(
            indexer(&p, &inputs, &[(0, 1)]).values,
            vec![0.25 * 3.0 * 3.0]
        );
    }
}
