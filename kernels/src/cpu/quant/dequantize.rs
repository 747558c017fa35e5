//! CPU dequantizers: each value is the f32 product scale × code.

use crosscheck_spec::{FP8_TILE, GGML_BLOCK, HostTensor, QuantizeProblem};

use super::{e4m3, ue8m0};

fn scale_f16(bytes: &[u8]) -> f32 {
    half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32()
}

fn scale_f32(bytes: &[u8]) -> f32 {
    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Q8_0 → f32: d·q.
pub fn q8_0(_: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    q.bytes
        .chunks_exact(2 + GGML_BLOCK)
        .flat_map(|b| {
            let d = scale_f16(b);
            b[2..].iter().map(move |&c| d * c as i8 as f32)
        })
        .collect()
}

/// Q4_0 → f32: d·(q − 8), element j in the low nibble of byte j, j + 16 in its high nibble.
pub fn q4_0(_: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    let mut out = Vec::new();
    for b in q.bytes.chunks_exact(2 + GGML_BLOCK / 2) {
        let d = scale_f16(b);
        let mut block = [0.0f32; GGML_BLOCK];
        for (j, &byte) in b[2..].iter().enumerate() {
            block[j] = d * ((byte & 0x0f) as i32 - 8) as f32;
            block[j + GGML_BLOCK / 2] = d * ((byte >> 4) as i32 - 8) as f32;
        }
        out.extend_from_slice(&block);
    }
    out
}

/// Int8 → f32: q·scale of the row.
pub fn int8(p: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    q.bytes
        .chunks_exact(4 + p.cols)
        .flat_map(|row| {
            let s = scale_f32(row);
            row[4..].iter().map(move |&c| c as i8 as f32 * s)
        })
        .collect()
}

/// FP8 → f32: E4M3(code) (times its tile's scale, f32 or UE8M0, for the scaled layouts).
pub fn fp8(p: &QuantizeProblem, q: &HostTensor) -> Vec<f32> {
    let Some(tile_rows) = p.format.fp8_tile_rows() else {
        return q.bytes.iter().map(|&c| e4m3::to_f32(c)).collect();
    };
    let width = p.format.scale_bytes();
    let tiles_per_row = p.cols.div_ceil(FP8_TILE);
    let scale_bytes = width * p.rows.div_ceil(tile_rows) * tiles_per_row;
    let (scales, codes) = q.bytes.split_at(scale_bytes);
    let scale = |tile: usize| match width {
        1 => ue8m0::value(scales[tile]),
        _ => scale_f32(&scales[4 * tile..]),
    };
    codes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let tile = (i / p.cols / tile_rows) * tiles_per_row + (i % p.cols) / FP8_TILE;
            e4m3::to_f32(c) * scale(tile)
        })
        .collect()
}
