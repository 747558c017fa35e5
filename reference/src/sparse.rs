//! The f64 oracle of sparse top-k attention (DeepSeek Sparse Attention): for every query row, a
//! softmax over the keys its index list names, in plain f64 loops over the exact stored inputs.
//! Each row's internals go to a callback as an [`AttentionRow`], so the attention bound applies
//! unchanged: its "visible keys" are the list's valid entries, duplicates included.

use crosscheck_spec::{HostTensor, INVALID_INDEX, SparseAttentionProblem};

use crate::attention::AttentionRow;
use crate::codec;

/// The scale the oracle uses: the custom f32 scale, or 1/√d_qk in f64.
pub fn scale(p: &SparseAttentionProblem) -> f64 {
    match p.custom_scale() {
        Some(s) => s as f64,
        None => 1.0 / (p.d_qk as f64).sqrt(),
    }
}

/// Computes O in f64 (row-major [len_q, heads_q, d_v]) from Q, KV and the decoded index lists,
/// calling `on_row` for every (query, head) row in order. Entries −1 are skipped; every other
/// entry is one softmax term (a key listed twice weighs twice); a row without valid entries
/// outputs zeros. A NaN score makes its row NaN (a NaN-propagating maximum), as IEEE arithmetic
/// on the definition does.
pub fn sparse_attention(
    p: &SparseAttentionProblem,
    q: &HostTensor,
    kv: &HostTensor,
    indices: &[i32],
    mut on_row: impl FnMut(&AttentionRow),
) -> Vec<f64> {
    let (q, kv) = (decode(q), decode_kv(p, kv));
    let sigma = scale(p);
    let mut out = vec![0.0f64; p.len_q * p.heads_q * p.d_v];
    let (mut keys, mut scores, mut gauge, mut weights, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..p.len_q {
        for h in 0..p.heads_q {
            let g = p.kv_head(h);
            let row = i * p.heads_q + h;
            let q_row = &q[row * p.d_qk..][..p.d_qk];
            keys.clear();
            scores.clear();
            gauge.clear();
            values.clear();
            for &j in p.list(indices, i, g) {
                if j == INVALID_INDEX {
                    continue;
                }
                let j = j as usize;
                let kv_row = &kv[(j * p.heads_kv + g) * p.d_qk..][..p.d_qk];
                let (mut dot, mut abs) = (0.0f64, 0.0f64);
                for (x, y) in q_row.iter().zip(kv_row) {
                    dot += x * y;
                    abs += (x * y).abs();
                }
                keys.push(j);
                scores.push(sigma * dot);
                gauge.push(sigma.abs() * abs);
                values.extend_from_slice(&kv_row[..p.d_v]);
            }
            let o = &mut out[row * p.d_v..][..p.d_v];
            weights.clear();
            if !keys.is_empty() {
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, nan_max);
                weights.extend(scores.iter().map(|s| (s - max).exp()));
                let total: f64 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= total);
                for (jj, w) in weights.iter().enumerate() {
                    for (c, o_c) in o.iter_mut().enumerate() {
                        *o_c += w * values[jj * p.d_v + c];
                    }
                }
            }
            on_row(&AttentionRow {
                output_offset: row * p.d_v,
                keys: &keys,
                scores: &scores,
                score_gauge: &gauge,
                weights: &weights,
                values: &values,
                output: o,
            });
        }
    }
    out
}

/// KV's values: stored floats, or FP8-layout rows decoded exactly (E4M3 code × its tile's f32
/// scale in f32, as the MLA codec defines it; the rope part bf16).
fn decode_kv(p: &SparseAttentionProblem, kv: &HostTensor) -> Vec<f64> {
    if !p.fp8 {
        return decode(kv);
    }
    kv.bytes
        .chunks_exact(p.fp8_token_bytes())
        .flat_map(|row| crate::mla::decode_fp8_row(p.d_v, p.d_qk - p.d_v, row))
        .map(f64::from)
        .collect()
}

fn decode(t: &HostTensor) -> Vec<f64> {
    codec::decode(t.precision, &t.bytes)
        .into_iter()
        .map(f64::from)
        .collect()
}

/// max that returns NaN if either argument is NaN (f64::max ignores NaN).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use crosscheck_spec::{Layout, Precision};

    fn tensor(shape: Vec<usize>, values: &[f32]) -> HostTensor {
        HostTensor {
            shape,
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: codec::encode(Precision::F32, values),
        }
    }

    fn problem(topk: usize) -> SparseAttentionProblem {
        SparseAttentionProblem {
            len_q: 1,
            len_kv: 3,
            heads_q: 1,
            heads_kv: 1,
            d_qk: 2,
            d_v: 1,
            topk,
            scale_bits: Some(1.0f32.to_bits()),
            fp8: false,
        }
    }

    /// The FP8 layout decodes to the values it encodes exactly when they are E4M3 values times
    /// the tile scale: the oracle then agrees with the dense oracle bit for bit.
    #[test]
    fn fp8_rows_are_decoded_exactly() {
        let dense = SparseAttentionProblem {
            len_kv: 2,
            d_qk: 130,
            d_v: 128,
            ..problem(3)
        };
        let fp8 = SparseAttentionProblem { fp8: true, ..dense };
        let values: Vec<f32> = (0..2 * 130).map(|i| ((i % 7) as f32 - 3.0) * 0.5).collect();
        let bytes: Vec<u8> = values
            .chunks(130)
            .flat_map(|row| crate::mla::encode_fp8_row(128, row))
            .collect();
        assert_eq!(bytes.len(), 2 * fp8.fp8_token_bytes());
        let kv_fp8 = HostTensor {
            shape: fp8.kv_shape(),
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes,
        };
        let q = tensor(dense.q_shape(), &vec![0.25; 130]);
        let list = [1, -1, 0];
        let a = sparse_attention(
            &dense,
            &q,
            &tensor(dense.kv_shape(), &values),
            &list,
            |_| {},
        );
        let b = sparse_attention(&fp8, &q, &kv_fp8, &list, |_| {});
        assert_eq!(a, b);
    }

    fn run(p: &SparseAttentionProblem, list: &[i32]) -> Vec<f64> {
        // Keys (1, 10), (0, 20), (0, 30): the query (1, 0) scores 1, 0, 0; values 1, 0, 0.
        let kv = tensor(p.kv_shape(), &[1.0, 10.0, 0.0, 20.0, 0.0, 30.0]);
        sparse_attention(p, &tensor(p.q_shape(), &[1.0, 0.0]), &kv, list, |_| {})
    }

    #[test]
    fn lists_select_keys_skip_minus_one_and_count_duplicates() {
        let e = std::f64::consts::E;
        // Keys 0 and 1: weights e/(e+1), 1/(e+1); the value column is the first KV column.
        assert_relative_eq!(run(&problem(3), &[0, -1, 1])[0], e / (e + 1.0));
        // Key 0 twice: e/(e+1) becomes 2e/(2e+1).
        assert_relative_eq!(
            run(&problem(3), &[0, 1, 0])[0],
            2.0 * e / (2.0 * e + 1.0),
            max_relative = 1e-15
        );
        // Only unused slots: zeros.
        assert_eq!(run(&problem(2), &[-1, -1]), vec![0.0]);
    }

    #[test]
    fn rows_carry_the_listed_keys_in_list_order() {
        let p = SparseAttentionProblem {
            heads_q: 2,
            ..problem(3)
        };
        let kv = tensor(p.kv_shape(), &[1.0, 10.0, 0.0, 20.0, 0.0, 30.0]);
        let q = tensor(p.q_shape(), &[1.0, 0.0, 0.0, 1.0]);
        let mut seen = Vec::new();
        sparse_attention(&p, &q, &kv, &[2, -1, 0], |r| {
            seen.push((r.output_offset, r.keys.to_vec(), r.scores.to_vec()))
        });
        assert_eq!(seen[0], (0, vec![2, 0], vec![0.0, 1.0]));
        assert_eq!(seen[1], (1, vec![2, 0], vec![30.0, 10.0]));
    }
}
