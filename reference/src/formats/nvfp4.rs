//! NVIDIA NVFP4: E2M1 elements in blocks of 16 along a row, each block with an E4M3 scale, and
//! one f32 scale for the whole tensor, amax / (448 · 6). Quantization follows torchao's
//! `nvfp4_quantize` with a per-tensor scale (NVIDIA's two-level recipe), every step in f32:
//! block scale = E4M3(clamp((block amax / 6) / s, 2^-6, 448)), code = E2M1(clamp(x · ((1 / s) /
//! block scale), ±6)), nearest even.
//!
//! Layout: the per-tensor f32 scale (little-endian), then per block the E4M3 scale byte and 8
//! bytes of codes, element 2i in the low nibble of byte i.

use super::minifloat::{E2M1, E4M3, ElementRounding, Overflow};
use super::mx::{block_amax, pack, unpack};

/// Values per NVFP4 block.
pub const NVFP4_BLOCK: usize = 16;

/// Bytes of one block: scale byte and 8 bytes of codes.
pub const NVFP4_BLOCK_BYTES: usize = 1 + NVFP4_BLOCK / 2;

/// E4M3's smallest normal, 2^-6: the floor torchao clamps block scales to.
const E4M3_TINY: f32 = 0.015625;

/// Bytes of `n` values (a multiple of 16).
pub fn encoded_len(n: usize) -> usize {
    4 + n / NVFP4_BLOCK * NVFP4_BLOCK_BYTES
}

/// Encodes a whole tensor. Special tensors (torchao's arithmetic leaves them undefined or NaN):
/// a zero tensor, or one so small that 1 / s overflows, has block scales 2^-6 and zero codes;
/// a tensor holding NaN or ∞ has the per-tensor scale amax / 2688 (NaN or ∞), NaN block scales
/// and zero codes.
pub fn encode(values: &[f32]) -> Vec<u8> {
    let amax = block_amax(values);
    let s = amax / (448.0 * 6.0);
    let mut out = s.to_le_bytes().to_vec();
    let inv = 1.0f32 / s;
    let special = if !amax.is_finite() {
        Some(E4M3.nan_code(false).expect("E4M3 has a NaN"))
    } else if !inv.is_finite() {
        Some(e4m3(E4M3_TINY))
    } else {
        None
    };
    for block in values.chunks_exact(NVFP4_BLOCK) {
        if let Some(scale) = special {
            out.push(scale);
            out.extend_from_slice(&[0; NVFP4_BLOCK / 2]);
            continue;
        }
        let block_scale = (block_amax(block) / 6.0) / s;
        let scale = e4m3(block_scale.clamp(E4M3_TINY, 448.0));
        let reciprocal = inv / E4M3.decode(scale);
        let codes: Vec<u8> = block
            .iter()
            .map(|&x| {
                let v = (x * reciprocal).clamp(-6.0, 6.0);
                E2M1.encode(v, ElementRounding::Even, Overflow::Saturate)
            })
            .collect();
        out.push(scale);
        pack(4, &codes, &mut out);
    }
    out
}

fn e4m3(x: f32) -> u8 {
    E4M3.encode(x, ElementRounding::Even, Overflow::Saturate)
}

/// Exact values: e2m1 · e4m3 scale · per-tensor scale.
pub fn decode_exact(bytes: &[u8]) -> Vec<f64> {
    let s = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f64;
    let mut out = Vec::with_capacity((bytes.len() - 4) / NVFP4_BLOCK_BYTES * NVFP4_BLOCK);
    for block in bytes[4..].chunks_exact(NVFP4_BLOCK_BYTES) {
        let scale = E4M3.decode_f64(block[0]) * s;
        out.extend(
            unpack(4, &block[1..])
                .into_iter()
                .map(|c| E2M1.decode_f64(c) * scale),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tensor_maximum_maps_to_448_times_6() {
        let mut x = vec![0.5f32; 32];
        x[0] = 2688.0; // s = 1: block 0 scale 448, block 1 scale 0.5 / 6 → E4M3 0.0859375
        x[17] = -1.0;
        let b = encode(&x);
        assert_eq!(b.len(), encoded_len(32));
        assert_eq!(f32::from_le_bytes(b[..4].try_into().unwrap()), 1.0);
        assert_eq!(b[4], 0x7e);
        let back = decode_exact(&b);
        assert_eq!(back[0], 2688.0);
        assert!((back[17] + 1.0).abs() < 0.1);
    }

    #[test]
    fn zero_and_nan_tensors_are_defined() {
        let zero = encode(&[0.0; 16]);
        assert_eq!(&zero[..5], &[0, 0, 0, 0, 0x08]);
        assert!(decode_exact(&zero).iter().all(|&v| v == 0.0));
        let mut x = [1.0f32; 16];
        x[5] = f32::NAN;
        let nan = encode(&x);
        assert_eq!(nan[4], 0x7f);
        assert!(decode_exact(&nan).iter().all(|v| v.is_nan()));
    }
}
