//! CPU quantized matmuls, C (m×n, f32) = A · Wᵀ: block dot products summed in f32 then scaled
//! (Q8_0, Q4_0, FP8 per 128-block), and int8 products summed exactly in i32.

use crosscheck_spec::{FP8_TILE, GGML_BLOCK, HostTensor, QuantMatmulProblem};
use rayon::prelude::*;

use super::{e4m3, ue8m0};

/// One row of C from the f32 activations and the weights' (scale, codes) per block of 32.
fn ggml(
    p: &QuantMatmulProblem,
    a: &HostTensor,
    w: &HostTensor,
    codes: fn(&[u8]) -> [f32; GGML_BLOCK],
) -> Vec<f32> {
    let a = a.to_f32();
    let block_bytes = w.bytes.len() / (p.n * p.k / GGML_BLOCK);
    let w_blocks: Vec<(f32, [f32; GGML_BLOCK])> = w
        .bytes
        .chunks_exact(block_bytes)
        .map(|b| {
            (
                half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
                codes(&b[2..]),
            )
        })
        .collect();
    let blocks_per_row = p.k / GGML_BLOCK;
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n).enumerate().for_each(|(i, c_row)| {
        let a_row = &a[i * p.k..(i + 1) * p.k];
        for (j, out) in c_row.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for (bi, a_block) in a_row.chunks_exact(GGML_BLOCK).enumerate() {
                let (d, q) = &w_blocks[j * blocks_per_row + bi];
                let dot: f32 = a_block.iter().zip(q).map(|(x, y)| x * y).sum();
                acc += dot * d;
            }
            *out = acc;
        }
    });
    c
}

/// Q8_0 weights × f32 activations.
pub fn q8_0(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    ggml(p, a, w, |codes| {
        std::array::from_fn(|j| codes[j] as i8 as f32)
    })
}

/// Q4_0 weights × f32 activations.
pub fn q4_0(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    ggml(p, a, w, |codes| {
        std::array::from_fn(|j| {
            let byte = codes[j % (GGML_BLOCK / 2)];
            let nibble = if j < GGML_BLOCK / 2 {
                byte & 0x0f
            } else {
                byte >> 4
            };
            nibble as f32 - 8.0
        })
    })
}

/// Int8 × int8: products summed in i32, then scaled by both row scales in f32.
pub fn int8(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let rows = |t: &HostTensor, count: usize| -> Vec<(f32, Vec<i32>)> {
        t.bytes
            .chunks_exact(4 + p.k)
            .take(count)
            .map(|r| {
                (
                    f32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                    r[4..].iter().map(|&q| q as i8 as i32).collect(),
                )
            })
            .collect()
    };
    let (a_rows, w_rows) = (rows(a, p.m), rows(w, p.n));
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n)
        .zip(&a_rows)
        .for_each(|(c_row, (sa, qa))| {
            for (out, (sw, qw)) in c_row.iter_mut().zip(&w_rows) {
                let acc: i32 = qa.iter().zip(qw).map(|(x, y)| x * y).sum();
                *out = acc as f32 * sa * sw;
            }
        });
    c
}

/// FP8 activations (1×128 tiles) × FP8 weights (128×128 blocks), both with f32 or both with
/// UE8M0 scales: per 128-block of k, the f32 sum of E4M3 products times the two scales, summed
/// in f32.
pub fn fp8(p: &QuantMatmulProblem, a: &HostTensor, w: &HostTensor) -> Vec<f32> {
    let blocks = p.k.div_ceil(FP8_TILE);
    let width = p.weights.scale_bytes();
    let split = |t: &HostTensor, scale_count: usize| -> (Vec<f32>, Vec<f32>) {
        let (s, codes) = t.bytes.split_at(width * scale_count);
        let scales = s
            .chunks_exact(width)
            .map(|b| match b {
                [byte] => ue8m0::value(*byte),
                _ => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            })
            .collect();
        (scales, codes.iter().map(|&c| e4m3::to_f32(c)).collect())
    };
    let (a_scales, a_codes) = split(a, p.m * blocks);
    let (w_scales, w_codes) = split(w, p.n.div_ceil(FP8_TILE) * blocks);
    let mut c = vec![0.0f32; p.m * p.n];
    c.par_chunks_mut(p.n).enumerate().for_each(|(i, c_row)| {
        for (j, out) in c_row.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for b in 0..blocks {
                let ks = b * FP8_TILE..((b + 1) * FP8_TILE).min(p.k);
                let dot: f32 = ks
                    .map(|kk| a_codes[i * p.k + kk] * w_codes[j * p.k + kk])
                    .sum();
                acc += dot * a_scales[i * blocks + b] * w_scales[(j / FP8_TILE) * blocks + b];
            }
            *out = acc;
        }
    });
    c
}
