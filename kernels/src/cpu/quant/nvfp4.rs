//! CPU kernels of NVFP4 (`nvfp4`): the f32 tensor scale s = amax / 2688, per block of 16 an E4M3
//! scale E4M3((block amax / 6) / s) within 2^-6 … 448 and E2M1 codes of x · ((1 / s) / scale),
//! every step in f32 (NVIDIA's two-level recipe as torchao writes it); the dequantizer; and
//! W4A16: NVFP4 weights × f32 activations.

use crosscheck_spec::{HostTensor, NVFP4_BLOCK, QuantMatmulProblem, QuantizeProblem};
use rayon::prelude::*;

use super::minifloat::{E2M1, E4M3, code_at, pack};

/// Bytes of a block: the E4M3 scale and 8 bytes of codes.
const BLOCK_BYTES: usize = 1 + NVFP4_BLOCK / 2;

/// The largest magnitude, NaN if any value is NaN.
fn amax(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| {
        if m.is_nan() || v.is_nan() {
            f32::NAN
        } else {
            m.max(v.abs())
        }
    })
}

/// Quantize the whole tensor.
pub fn quantize(_: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let tensor_amax = amax(&values);
    let s = tensor_amax / 2688.0;
    let inv = 1.0f32 / s;
    // Tensors with NaN or ∞: NaN block scales; zero or tiny tensors (1 / s overflows): 2^-6.
    let special = if !tensor_amax.is_finite() {
        Some(0x7f)
    } else if !inv.is_finite() {
        Some(E4M3.encode(0.015625, 0, false))
    } else {
        None
    };
    let blocks: Vec<Vec<u8>> = values
        .par_chunks(NVFP4_BLOCK)
        .map(|block| {
            if let Some(scale) = special {
                let mut out = vec![scale];
                out.extend_from_slice(&[0; NVFP4_BLOCK / 2]);
                return out;
            }
            let scale = (amax(block) / 6.0) / s;
            let code = E4M3.encode(scale.clamp(0.015625, 448.0), 0, false);
            let reciprocal = inv / E4M3.decode(code) as f32;
            let codes: Vec<u8> = block
                .iter()
                .map(|&v| E2M1.encode((v * reciprocal).clamp(-6.0, 6.0), 0, false))
                .collect();
            let mut out = vec![code];
            pack(4, &codes, &mut out);
            out
        })
        .collect();
    let mut out = s.to_le_bytes().to_vec();
    out.extend(blocks.concat());
    out
}

/// The tensor scale and the blocks.
fn split(bytes: &[u8]) -> (f32, &[u8]) {
    let (s, blocks) = bytes.split_at(4);
    (f32::from_le_bytes([s[0], s[1], s[2], s[3]]), blocks)
}

/// Dequantize: e2m1 · scale · s, the exact value rounded once to f32.
pub fn dequantize(_: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    let (s, blocks) = split(&q.bytes);
    blocks
        .chunks_exact(BLOCK_BYTES)
        .flat_map(|b| {
            let scale = E4M3.decode(b[0]) * s as f64;
            (0..NVFP4_BLOCK).map(move |i| (E2M1.decode(code_at(4, &b[1..], i)) * scale) as f32)
        })
        .collect()
}

/// NVFP4 weights × f32 activations: per block of 16 along k, the f32 dot of a and e2m1, times
/// the block's E4M3 scale, summed in f32; the sum times the tensor scale.
pub fn qmatmul(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let a = a.to_f32();
    let (s, blocks) = split(&w.bytes);
    let w_blocks: Vec<(f32, [f32; NVFP4_BLOCK])> = blocks
        .chunks_exact(BLOCK_BYTES)
        .map(|b| {
            let codes = std::array::from_fn(|i| E2M1.decode(code_at(4, &b[1..], i)) as f32);
            (E4M3.decode(b[0]) as f32, codes)
        })
        .collect();
    let per_row = p.k / NVFP4_BLOCK;
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n).enumerate().for_each(|(i, c_row)| {
        let a_row = &a[i * p.k..(i + 1) * p.k];
        for (j, out) in c_row.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for (bi, a_block) in a_row.chunks_exact(NVFP4_BLOCK).enumerate() {
                let (scale, q) = &w_blocks[j * per_row + bi];
                let dot: f32 = a_block.iter().zip(q).map(|(x, y)| x * y).sum();
                acc += dot * scale;
            }
            *out = acc * s;
        }
    });
    c
}
