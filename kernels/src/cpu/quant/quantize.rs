//! CPU quantizers, one per format family; blocks and rows in parallel.

use crosscheck_spec::{FP8_TILE, GGML_BLOCK, HostTensor, QuantizeProblem};
use rayon::prelude::*;

use super::{e4m3, ue8m0};

/// 1/d, or 0 when d is 0 or 1/d overflows (the reference's definition for blocks whose scale
/// underflows).
fn ggml_inverse(d: f32) -> f32 {
    let id = if d == 0.0 { 0.0 } else { 1.0 / d };
    if id.is_infinite() { 0.0 } else { id }
}

/// Q8_0 bytes of the problem's rows.
pub fn q8_0(_: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let blocks: Vec<Vec<u8>> = values
        .par_chunks(GGML_BLOCK)
        .map(|block| {
            // C's MAX(amax, |v|): a NaN resets the running maximum.
            let amax = block
                .iter()
                .fold(0.0f32, |m, v| if m > v.abs() { m } else { v.abs() });
            let d = amax / 127.0;
            let id = ggml_inverse(d);
            let mut out = half::f16::from_f32(d).to_le_bytes().to_vec();
            // Round half away from zero, into ±127; NaN → 0.
            out.extend(block.iter().map(|v| {
                let s = v * id;
                if s.is_nan() {
                    return 0;
                }
                let r = s.abs().trunc() + if s.abs().fract() >= 0.5 { 1.0 } else { 0.0 };
                (r.min(127.0).copysign(s) as i32) as i8 as u8
            }));
            out
        })
        .collect();
    blocks.concat()
}

/// Q4_0 bytes of the problem's rows.
pub fn q4_0(_: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let blocks: Vec<Vec<u8>> = values
        .par_chunks(GGML_BLOCK)
        .map(|block| {
            let signed_max = block
                .iter()
                .copied()
                .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
            let d = signed_max / -8.0;
            let id = ggml_inverse(d);
            let nibble = |v: f32| {
                let shifted = v * id + 8.5;
                if shifted.is_nan() {
                    return 8;
                }
                (shifted.trunc() as i32).clamp(0, 15) as u8
            };
            let mut out = half::f16::from_f32(d).to_le_bytes().to_vec();
            out.extend(
                (0..GGML_BLOCK / 2)
                    .map(|j| nibble(block[j]) | nibble(block[j + GGML_BLOCK / 2]) << 4),
            );
            out
        })
        .collect();
    blocks.concat()
}

/// Int8 rows: f32 scale = amax / 127, then codes round(x / scale) (half away), clamped ±127.
pub fn int8(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let rows: Vec<Vec<u8>> = values
        .par_chunks(p.cols)
        .map(|row| {
            let scale = row.iter().map(|v| v.abs()).fold(0.0f32, f32::max) / 127.0;
            let mut out = scale.to_le_bytes().to_vec();
            out.extend(row.iter().map(|v| {
                let q = if scale == 0.0 {
                    0.0
                } else {
                    (v / scale).round()
                };
                q.clamp(-127.0, 127.0) as i8 as u8
            }));
            out
        })
        .collect();
    rows.concat()
}

/// FP8 E4M3: raw, or with 1×128 / 128×128 scales ahead of the codes: f32 scales amax / 448,
/// or UE8M0 bytes (amax / 448 rounded up to a power of two, codes E4M3(x · (1 / scale))).
pub fn fp8(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let Some(tile_rows) = p.format.fp8_tile_rows() else {
        return values.par_iter().map(|&v| e4m3::from_f32(v)).collect();
    };
    let ue8m0 = p.format.scale_bytes() == 1;
    let tiles_per_row = p.cols.div_ceil(FP8_TILE);
    let tile_of = |i: usize| (i / p.cols / tile_rows) * tiles_per_row + (i % p.cols) / FP8_TILE;
    let mut amax = vec![0.0f32; p.rows.div_ceil(tile_rows) * tiles_per_row];
    for (i, v) in values.iter().enumerate() {
        let a = &mut amax[tile_of(i)];
        // The UE8M0 scale of a tile holding NaN is defined (2^127): keep the NaN to find it.
        *a = if ue8m0 && (a.is_nan() || v.is_nan()) {
            f32::NAN
        } else {
            a.max(v.abs())
        };
    }
    if ue8m0 {
        let bytes: Vec<u8> = amax.iter().map(|&a| ue8m0::tile_scale(a)).collect();
        let mut out = bytes.clone();
        out.par_extend(values.par_iter().enumerate().map(|(i, v)| {
            let inverse = 1.0 / ue8m0::value(bytes[tile_of(i)]);
            e4m3::from_f32(v * inverse)
        }));
        return out;
    }
    let scales: Vec<f32> = amax.iter().map(|a| a / 448.0).collect();
    let mut out: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
    out.par_extend(values.par_iter().enumerate().map(|(i, v)| {
        let s = scales[tile_of(i)];
        if s == 0.0 { 0 } else { e4m3::from_f32(v / s) }
    }));
    out
}

#[cfg(test)]
mod tests {
    use crosscheck_spec::{Layout, Precision, QuantFormat};

    use super::*;

    fn tensor(values: &[f32]) -> (QuantizeProblem, HostTensor) {
        let format = QuantFormat::Q8_0;
        let p = QuantizeProblem {
            format,
            rows: 1,
            cols: values.len(),
        };
        let t = HostTensor {
            shape: vec![1, values.len()],
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        (p, t)
    }

    /// A block of f32 subnormals (1/d overflows) is coded as a zero block, as the reference
    /// codecs define it: Q8_0 codes 0, Q4_0 codes 8, never −128 or a nibble carry.
    #[test]
    fn tiny_blocks_are_zero_blocks() {
        let x: Vec<f32> = (0..32)
            .map(|i| if i % 3 == 0 { -1e-40 } else { 1e-41 * i as f32 })
            .collect();
        let (p, t) = tensor(&x);
        assert!(q8_0(&p, &t).iter().all(|&b| b == 0));
        let q4 = q4_0(&p, &t);
        assert_eq!(&q4[..2], &[0, 0x80]); // d = −0 in f16
        assert!(q4[2..].iter().all(|&b| b == 0x88), "{q4:x?}");
    }
}
