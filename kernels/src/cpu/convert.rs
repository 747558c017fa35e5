//! Conversions between stored tensors and the f32 values CPU kernels compute with.

use crosscheck_spec::{HostTensor, OutputBuffer, Precision};

/// Decodes a tensor into row-major f32 matrices (one per leading index), whatever its layout.
pub fn row_major_f32(t: &HostTensor) -> Vec<f32> {
    let stored = t.to_f32();
    let (rows, cols) = t.matrix_dims();
    let count = t.len() / (rows * cols).max(1);
    let mut out = Vec::with_capacity(t.len());
    for outer in 0..count {
        for r in 0..rows {
            out.extend((0..cols).map(|c| stored[t.offset(outer, r, c)]));
        }
    }
    out
}

/// Rounds f32 results to the output's precision (nearest even) and writes them to its payload.
pub fn store(values: &[f32], output: &mut OutputBuffer) {
    let precision = output.precision();
    let payload = output.payload_mut();
    match precision {
        Precision::F32 => {
            for (dst, v) in payload.chunks_exact_mut(4).zip(values) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
        }
        Precision::F16 => {
            for (dst, v) in payload.chunks_exact_mut(2).zip(values) {
                dst.copy_from_slice(&half::f16::from_f32(*v).to_bits().to_le_bytes());
            }
        }
        Precision::U8 => {
            for (dst, v) in payload.iter_mut().zip(values) {
                *dst = *v as u8;
            }
        }
        Precision::BF16 => {
            for (dst, v) in payload.chunks_exact_mut(2).zip(values) {
                dst.copy_from_slice(&half::bf16::from_f32(*v).to_bits().to_le_bytes());
            }
        }
    }
}

/// [`store`] for the rows `written` says were written (`width` values each): the others keep
/// what the output held.
pub fn store_rows(values: &[f32], width: usize, written: &[bool], output: &mut OutputBuffer) {
    for (row, _) in written.iter().enumerate().filter(|(_, w)| **w) {
        for (i, v) in values[row * width..(row + 1) * width].iter().enumerate() {
            let index = row * width + i;
            match output.precision() {
                Precision::F16 => {
                    let bits = half::f16::from_f32(*v).to_bits().to_le_bytes();
                    output.payload_mut()[2 * index..2 * index + 2].copy_from_slice(&bits);
                }
                Precision::BF16 => {
                    let bits = half::bf16::from_f32(*v).to_bits().to_le_bytes();
                    output.payload_mut()[2 * index..2 * index + 2].copy_from_slice(&bits);
                }
                _ => output.write(index, *v),
            }
        }
    }
}
