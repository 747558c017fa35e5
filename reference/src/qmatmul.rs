//! The f64 oracle of quantized matmuls: C = A · Wᵀ from the exactly dequantized operands, with
//! the gauge Σ|a||w| the accumulation bound scales with.

use crosscheck_spec::{HostTensor, QuantFormat, QuantMatmulProblem};

use crate::quant::epilogue;
use crate::{codec, quant};

/// Oracle output: per element of the row-major m×n result, its value and gauge (for the
/// bias-after-scaling epilogues, |Σ q_a·q_w·s_a·s_w| + |bias|, what their roundings scale with).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantMatmulReference {
    /// Σ_k a_mk · w_nk of the exact dequantized values.
    pub values: Vec<f64>,
    /// Σ_k |a_mk · w_nk|.
    pub gauge: Vec<f64>,
}

/// Computes the reference from the stored operands (A as the problem says, W quantized).
/// Int8 × int8 is computed as the format defines it: the integer sum of code products, exact,
/// times both scales (in f64, two roundings relative to the result).
pub fn qmatmul(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> QuantMatmulReference {
    if p.weights == QuantFormat::Int8 {
        return int8(p, a, w);
    }
    if p.weights.family() == crosscheck_spec::QuantFamily::W8A8Bias {
        return int8_bias(p, a, w);
    }
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

/// The f64 product of the unquantized operands, A (m×k) and W (n×k) as f32 values before
/// quantization, with the epilogue's bias term as the stored weights apply it (i32 bias ·
/// s_token · s_channel, or the f32 / bf16 bias): the result the user would get without
/// quantization, against which the quantization error the user pays is measured.
pub fn unquantized(
    p: &QuantMatmulProblem,
    a_values: &[f32],
    w_values: &[f32],
    a: &HostTensor,
    w: &HostTensor,
) -> Vec<f64> {
    let bias: Vec<Box<dyn Fn(usize) -> f64>> =
        if p.weights.family() == crosscheck_spec::QuantFamily::W8A8Bias {
            let token_scales: Vec<f64> = int8_rows(&a.bytes, p.k).iter().map(|r| r.0).collect();
            epilogue::bias_rows(p.weights, p.k, &w.bytes)
                .into_iter()
                .map(|row| {
                    let scales = token_scales.clone();
                    let sw = epilogue::channel_scale(p.weights, row.scale) as f64;
                    let before = matches!(
                        p.weights,
                        QuantFormat::W8A8BiasI32 | QuantFormat::W8A8BiasI32S19
                    );
                    Box::new(move |i: usize| {
                        if before {
                            row.bias * scales[i] * sw
                        } else {
                            row.bias
                        }
                    }) as Box<dyn Fn(usize) -> f64>
                })
                .collect()
        } else {
            Vec::new()
        };
    let mut out = Vec::with_capacity(p.m * p.n);
    for (i, a_row) in a_values.chunks_exact(p.k).enumerate() {
        for (j, w_row) in w_values.chunks_exact(p.k).enumerate() {
            let dot: f64 = a_row
                .iter()
                .zip(w_row)
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum();
            out.push(dot + bias.get(j).map_or(0.0, |b| b(i)));
        }
    }
    out
}

/// Rows of (scale, codes) of an int8 matrix with `k` columns.
fn int8_rows(bytes: &[u8], k: usize) -> Vec<(f64, Vec<i64>)> {
    bytes
        .chunks_exact(4 + k)
        .map(|r| {
            (
                f32::from_le_bytes([r[0], r[1], r[2], r[3]]) as f64,
                r[4..].iter().map(|&q| q as i8 as i64).collect(),
            )
        })
        .collect()
}

fn int8(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> QuantMatmulReference {
    let (a_rows, w_rows) = (int8_rows(&a.bytes, p.k), int8_rows(&w.bytes, p.k));
    let mut values = Vec::with_capacity(p.m * p.n);
    let mut gauge = Vec::with_capacity(p.m * p.n);
    for (sa, qa) in &a_rows {
        for (sw, qw) in &w_rows {
            let acc: i64 = qa.iter().zip(qw).map(|(x, y)| x * y).sum();
            let abs: i64 = qa.iter().zip(qw).map(|(x, y)| (x * y).abs()).sum();
            values.push(acc as f64 * sa * sw);
            gauge.push(abs as f64 * (sa * sw).abs());
        }
    }
    QuantMatmulReference { values, gauge }
}

/// Int8 × int8 with a bias, in the format's declared order: the i32 bias added to the exact
/// integer sum before both scales (Ascend QuantMatmul, bias INT32), or the f32 / bf16 bias
/// added to the scaled sum. The oracle's value is exact up to f64 roundings; the bf16 output's
/// rounding is the kernel's, allowed by the bound.
fn int8_bias(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> QuantMatmulReference {
    let a_rows = int8_rows(&a.bytes, p.k);
    let w_rows = epilogue::bias_rows(p.weights, p.k, &w.bytes);
    let before = matches!(
        p.weights,
        QuantFormat::W8A8BiasI32 | QuantFormat::W8A8BiasI32S19
    );
    let mut values = Vec::with_capacity(p.m * p.n);
    let mut gauge = Vec::with_capacity(p.m * p.n);
    for (sa, qa) in &a_rows {
        for row in &w_rows {
            let sw = epilogue::channel_scale(p.weights, row.scale) as f64;
            let acc: i64 = qa.iter().zip(&row.codes).map(|(x, y)| x * y).sum();
            if before {
                let y = (acc as f64 + row.bias) * sa * sw;
                values.push(y);
                gauge.push(y.abs());
            } else {
                let scaled = acc as f64 * sa * sw;
                values.push(scaled + row.bias);
                gauge.push(scaled.abs() + row.bias.abs());
            }
        }
    }
    QuantMatmulReference { values, gauge }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Layout, Precision};

    #[test]
    fn int8_sums_are_exact_integers_times_the_scales() {
        // Codes that cancel exactly: the result must be exactly 0, whatever the scales.
        let p = QuantMatmulProblem::new(QuantFormat::Int8, 1, 1, 2);
        let row = |s: f32, q: [i8; 2]| {
            let mut b = s.to_le_bytes().to_vec();
            b.extend(q.iter().map(|&x| x as u8));
            HostTensor {
                shape: vec![6],
                layout: Layout::RowMajor,
                precision: Precision::U8,
                bytes: b,
            }
        };
        let r = qmatmul(&p, &row(0.1, [3, 5]), &row(0.7, [5, -3]));
        assert_eq!(r.values, vec![0.0]);
        let r = qmatmul(&p, &row(0.5, [3, 5]), &row(2.0, [5, 3]));
        assert_eq!(r.values, vec![30.0]);
    }

    #[test]
    fn biases_go_before_or_after_the_scales_as_declared() {
        let bytes = |b: Vec<u8>| HostTensor {
            shape: vec![b.len()],
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes: b,
        };
        // a = 0.5·[3, 5], w = 4·[5, 3]: Σ q_a·q_w = 30, scales 0.5 · 4 = 2, bias 6.
        let mut a = 0.5f32.to_le_bytes().to_vec();
        a.extend([3u8, 5]);
        let a = bytes(a);
        for (format, bias, want) in [
            (
                QuantFormat::W8A8BiasI32,
                6i32.to_le_bytes(),
                (30.0 + 6.0) * 2.0,
            ),
            (
                QuantFormat::W8A8BiasF32,
                6.0f32.to_le_bytes(),
                30.0 * 2.0 + 6.0,
            ),
        ] {
            let p = QuantMatmulProblem::new(format, 1, 1, 2);
            let mut w = 4.0f32.to_le_bytes().to_vec();
            w.extend(bias);
            w.extend([5u8, 3]);
            assert_eq!(qmatmul(&p, &a, &bytes(w)).values, vec![want], "{format}");
        }
    }
}
