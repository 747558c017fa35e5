//! CPU kernels of GGML's K-quants (`kquant`: Q4_K, Q5_K, Q6_K): the dequantizer, operation by
//! operation in f32 as ggml's `dequantize_row_q*_K` (no fused multiply-add), and the quantized
//! matmul that dequantizes a weight row so and sums its f32 products with the activations.

use crosscheck_spec::{
    HostTensor, K_SUPER_BLOCK, QuantFormat, QuantMatmulProblem, QuantizeProblem,
};
use rayon::prelude::*;

fn f16(lo: u8, hi: u8) -> f32 {
    half::f16::from_le_bytes([lo, hi]).to_f32()
}

/// Scale and min of sub-block j from the 12 packed bytes: six bits each, the top two bits of
/// sub-blocks 4…7 kept in the top bits of bytes 0…7.
fn scale_min(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        (
            ((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4)) as f32,
            ((q[j + 4] >> 4) | ((q[j] >> 6) << 4)) as f32,
        )
    }
}

/// One Q4_K (no `qh`) or Q5_K super-block.
fn q4_q5(b: &[u8], qh: Option<&[u8]>, out: &mut Vec<f32>) {
    let (d, dmin) = (f16(b[0], b[1]), f16(b[2], b[3]));
    let scales = &b[4..16];
    let qs = &b[16 + qh.map_or(0, |h| h.len())..];
    for g in 0..4 {
        let (sc1, m1) = scale_min(2 * g, scales);
        let (sc2, m2) = scale_min(2 * g + 1, scales);
        let (d1, min1, d2, min2) = (d * sc1, dmin * m1, d * sc2, dmin * m2);
        let high = |l: usize, bit: usize| -> u8 {
            qh.map_or(0, |h| if h[l] & (1 << bit) != 0 { 16 } else { 0 })
        };
        let ql = &qs[32 * g..32 * g + 32];
        out.extend((0..32).map(|l| d1 * ((ql[l] & 0xf) + high(l, 2 * g)) as f32 - min1));
        out.extend((0..32).map(|l| d2 * ((ql[l] >> 4) + high(l, 2 * g + 1)) as f32 - min2));
    }
}

/// One Q6_K super-block.
fn q6(b: &[u8], out: &mut Vec<f32>) {
    let (ql, qh, sc) = (&b[..128], &b[128..192], &b[192..208]);
    let d = f16(b[208], b[209]);
    for h in 0..2 {
        let (ql, qh, sc) = (&ql[64 * h..], &qh[32 * h..], &sc[8 * h..]);
        let mut y = [0.0f32; 128];
        for l in 0..32 {
            let is = l / 16;
            let q = |low: u8, shift: u32| ((low | ((qh[l] >> shift) & 3) << 4) as i32 - 32) as f32;
            let scale = |k: usize| sc[is + k] as i8 as f32;
            y[l] = d * scale(0) * q(ql[l] & 0xf, 0);
            y[l + 32] = d * scale(2) * q(ql[l + 32] & 0xf, 2);
            y[l + 64] = d * scale(4) * q(ql[l] >> 4, 4);
            y[l + 96] = d * scale(6) * q(ql[l + 32] >> 4, 6);
        }
        out.extend_from_slice(&y);
    }
}

/// The f32 values of encoded K-quant super-blocks.
fn values(format: QuantFormat, bytes: &[u8]) -> Vec<f32> {
    let block = format.encoded_len(1, K_SUPER_BLOCK);
    let mut out = Vec::with_capacity(bytes.len() / block * K_SUPER_BLOCK);
    for b in bytes.chunks_exact(block) {
        match format {
            QuantFormat::Q4K => q4_q5(b, None, &mut out),
            QuantFormat::Q5K => q4_q5(b, Some(&b[16..48]), &mut out),
            QuantFormat::Q6K => q6(b, &mut out),
            other => panic!("{other} is not a K-quant"),
        }
    }
    out
}

/// Dequantize.
pub fn dequantize(p: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    values(p.format, &q.bytes)
}

/// K-quant weights × f32 activations: each weight row dequantized as above, then f32 dot
/// products summed in order.
pub fn qmatmul(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let a = a.to_f32();
    let w = values(p.weights, &w.bytes);
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n).enumerate().for_each(|(i, c_row)| {
        let a_row = &a[i * p.k..(i + 1) * p.k];
        for (out, w_row) in c_row.iter_mut().zip(w.chunks_exact(p.k)) {
            *out = a_row.iter().zip(w_row).map(|(x, y)| x * y).sum();
        }
    });
    c
}
