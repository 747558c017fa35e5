//! CPU quantized matmuls with vendor epilogues. W8A8 with a bias: the i32 sum of code
//! products, then the bias before the token and channel scales (i32 bias; the channel scale
//! cut to 19 bits under TransQuantParam's rule) or after them (f32, or bf16 with the sum
//! rounded to bf16). Antiquant: each weight dequantized in f32 as (q + offset) · scale with its
//! group's f16 scale and offset, then f32 dot products with the f32 activations.

use crosscheck_spec::{HostTensor, QuantFormat, QuantMatmulProblem};
use rayon::prelude::*;

/// One weight row of a W8A8-with-bias matrix: scale, raw bias word, codes.
type BiasRow = (f32, [u8; 4], Vec<i32>);

fn bias_rows(bytes: &[u8], k: usize, count: usize) -> Vec<BiasRow> {
    bytes
        .chunks_exact(8 + k)
        .take(count)
        .map(|r| {
            (
                f32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                [r[4], r[5], r[6], r[7]],
                r[8..].iter().map(|&q| q as i8 as i32).collect(),
            )
        })
        .collect()
}

/// f32 → bf16 → f32, round to nearest even (finite inputs; NaN stays NaN).
fn round_bf16(x: f32) -> f32 {
    half::bf16::from_f32(x).to_f32()
}

/// Int8 × int8 with a per-channel bias, in the order the weight format declares.
pub fn w8a8_bias(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let a_rows: Vec<(f32, Vec<i32>)> = a
        .bytes
        .chunks_exact(4 + p.k)
        .take(p.m)
        .map(|r| {
            (
                f32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                r[4..].iter().map(|&q| q as i8 as i32).collect(),
            )
        })
        .collect();
    let w_rows = bias_rows(&w.bytes, p.k, p.n);
    let format = p.weights;
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n)
        .zip(&a_rows)
        .for_each(|(c_row, (sa, qa))| {
            for (out, (sw, bias, qw)) in c_row.iter_mut().zip(&w_rows) {
                let acc: i32 = qa.iter().zip(qw).map(|(x, y)| x * y).sum();
                *out = match format {
                    QuantFormat::W8A8BiasI32 => {
                        (acc.wrapping_add(i32::from_le_bytes(*bias))) as f32 * sa * sw
                    }
                    QuantFormat::W8A8BiasI32S19 => {
                        let sw19 = f32::from_bits(sw.to_bits() & 0xFFFF_E000);
                        (acc.wrapping_add(i32::from_le_bytes(*bias))) as f32 * sa * sw19
                    }
                    QuantFormat::W8A8BiasBf16 => {
                        round_bf16(acc as f32 * sa * sw + f32::from_le_bytes(*bias))
                    }
                    _ => acc as f32 * sa * sw + f32::from_le_bytes(*bias),
                };
            }
        });
    c
}

/// Weight-only antiquant (W8A16, W4A16): (q + offset) · scale per weight in f32, f32 dots.
pub fn antiquant(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let (bits, group) = p.weights.antiquant().expect("an antiquant format");
    let a = a.to_f32();
    let (params, codes) = w.bytes.split_at(4 * p.n * p.k / group);
    let f16 = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
    let code = |i: usize| -> f32 {
        if bits == 8 {
            codes[i] as i8 as f32
        } else {
            let nibble = (codes[i / 2] >> (4 * (i % 2))) & 0x0f;
            ((nibble << 4) as i8 >> 4) as f32
        }
    };
    let weights: Vec<f32> = (0..p.n * p.k)
        .map(|i| {
            let g = &params[4 * (i / group)..];
            (code(i) + f16(&g[2..4])) * f16(&g[0..2])
        })
        .collect();
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n).enumerate().for_each(|(i, c_row)| {
        let a_row = &a[i * p.k..(i + 1) * p.k];
        for (j, out) in c_row.iter_mut().enumerate() {
            let w_row = &weights[j * p.k..(j + 1) * p.k];
            *out = a_row.iter().zip(w_row).map(|(x, y)| x * y).sum();
        }
    });
    c
}
