//! GGML's K-quants Q4_K, Q5_K and Q6_K: super-blocks of 256 values with sub-block scales (and
//! mins) quantized against f16 super-block scales. Layouts are ggml-common.h's `block_q4_K`,
//! `block_q5_K` and `block_q6_K`; quantization follows `quantize_row_q4_K_ref`,
//! `quantize_row_q5_K_ref` and `quantize_row_q6_K_ref` (with `make_qkx2_quants`,
//! `make_qx_quants` and `nearest_int`) operation by operation in f32, no fused multiply-adds;
//! dequantization follows `dequantize_row_q4_K` and friends (each product and difference
//! rounded to f32).
//!
//! `nearest_int` is taken literally (f + 1.5 · 2^23, then the low mantissa bits), which defines
//! it for every f32, NaN and ∞ included; with that (and gcc's modular int → int8 conversion),
//! ggml's reference quantizers are defined for every input, so crosscheck follows them there too.

use crate::codec::{f16_bits_to_f32, f32_to_f16_bits};

/// Values per super-block.
pub const QK_K: usize = 256;
/// Bytes of a Q4_K super-block: d, dmin (f16), 12 bytes of 6-bit scales and mins, 128 bytes of nibbles.
pub const Q4_K_BYTES: usize = 144;
/// Bytes of a Q5_K super-block: d, dmin, 12 scale bytes, 32 bytes of fifth bits, 128 of nibbles.
pub const Q5_K_BYTES: usize = 176;
/// Bytes of a Q6_K super-block: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, d.
pub const Q6_K_BYTES: usize = 210;

/// ggml's `nearest_int`: round to nearest even through the f32 addition of 1.5 · 2^23.
pub fn nearest_int(f: f32) -> i32 {
    let val = f + 12_582_912.0;
    (val.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block j from the 12 packed bytes.
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Packs eight 6-bit scales and mins into 12 bytes (the inverse of [`scale_min_k4`]).
fn pack_scales(ls: &[u8; 8], lm: &[u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..8 {
        if j < 4 {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (ls[j] & 0x0f) | ((lm[j] & 0x0f) << 4);
            s[j - 4] |= (ls[j] >> 4) << 6;
            s[j] |= (lm[j] >> 4) << 6;
        }
    }
    s
}

/// ggml's `make_qkx2_quants` for 32 values (no MAD): codes into `l`, returns (scale, −min).
#[allow(clippy::too_many_arguments)]
fn make_qkx2_quants(
    x: &[f32],
    weights: &[f32; 32],
    nmax: i32,
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    l: &mut [u8],
) -> (f32, f32) {
    let n = x.len();
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l.iter_mut().for_each(|q| *q = 0);
        return (0.0, -min);
    }
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        l[i] = q as u8;
        let diff = scale * l[i] as f32 + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    let mut aux = [0u8; 32];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            aux[i] = q as u8;
            let (w, lf) = (weights[i], q as f32);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        let d = sum_w * sum_l2 - sum_l * sum_l;
        if d > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / d;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / d;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                let diff = this_scale * aux[i] as f32 + this_min - x[i];
                cur_error += weights[i] * (diff * diff);
            }
            if cur_error < best_error {
                l[..n].copy_from_slice(&aux[..n]);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// ggml's `make_qx_quants` with `rmse_type` 1 and no importance weights: codes (offset by
/// `nmax`) into `l`, returns the scale.
fn make_qx_quants(x: &[f32], nmax: i32, l: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < 1e-15 {
        l.iter_mut().for_each(|q| *q = 0);
        return 0.0;
    }
    let code = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    let sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let lf = code(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * lf;
            suml2 += w * lf * lf;
        }
        (sumlx, suml2)
    };
    let mut iscale = -(nmax as f32) / max;
    for (q, &v) in l.iter_mut().zip(x) {
        *q = (code(iscale, v) + nmax) as i8;
    }
    let (sumlx, suml2) = sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        let (sumlx, suml2) = sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (q, &v) in l.iter_mut().zip(x) {
                *q = (code(iscale, v) + nmax) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// Sub-block scales and mins of a Q4_K/Q5_K super-block (`nmax` 15 or 31), with the codes
/// of every value in `l`, requantized against the stored scales as the reference does.
fn quantize_k_scales(x: &[f32], nmax: i32, rmin: f32, nstep: i32, l: &mut [u8; QK_K]) -> [u8; 16] {
    let (mut scales, mut mins) = ([0.0f32; 8], [0.0f32; 8]);
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..8 {
        let sub = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in sub {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let mut weights = [0.0f32; 32];
        for (w, &v) in weights.iter_mut().zip(sub) {
            *w = av_x + v.abs();
        }
        let (scale, min) = make_qkx2_quants(
            sub,
            &weights,
            nmax,
            rmin,
            0.1,
            nstep,
            &mut l[32 * j..32 * j + 32],
        );
        scales[j] = scale;
        mins[j] = min;
        if scale > max_scale {
            max_scale = scale;
        }
        if min > max_min {
            max_min = min;
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let (mut ls, mut lm) = ([0u8; 8], [0u8; 8]);
    for j in 0..8 {
        ls[j] = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        lm[j] = (nearest_int(inv_min * mins[j]) as u8).min(63);
    }
    let packed = pack_scales(&ls, &lm);
    let d = f32_to_f16_bits(max_scale / 63.0);
    let dmin = f32_to_f16_bits(max_min / 63.0);
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, &packed);
        let d = f16_bits_to_f32(d) * sc as f32;
        if d == 0.0 {
            continue;
        }
        let dm = f16_bits_to_f32(dmin) * m as f32;
        for ii in 0..32 {
            l[32 * j + ii] = nearest_int((x[32 * j + ii] + dm) / d).clamp(0, nmax) as u8;
        }
    }
    let mut head = [0u8; 16];
    head[0..2].copy_from_slice(&d.to_le_bytes());
    head[2..4].copy_from_slice(&dmin.to_le_bytes());
    head[4..16].copy_from_slice(&packed);
    head
}

/// Q4_K super-blocks of `values` (a multiple of 256), as `quantize_row_q4_K_ref`.
pub fn encode_q4_k(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / QK_K * Q4_K_BYTES);
    for x in values.chunks_exact(QK_K) {
        let mut l = [0u8; QK_K];
        out.extend_from_slice(&quantize_k_scales(x, 15, -1.0, 20, &mut l));
        for j in (0..QK_K).step_by(64) {
            out.extend((0..32).map(|i| l[j + i] | (l[j + i + 32] << 4)));
        }
    }
    out
}

/// Q5_K super-blocks, as `quantize_row_q5_K_ref`.
pub fn encode_q5_k(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / QK_K * Q5_K_BYTES);
    for x in values.chunks_exact(QK_K) {
        let mut l = [0u8; QK_K];
        out.extend_from_slice(&quantize_k_scales(x, 31, -0.5, 15, &mut l));
        let (mut qh, mut ql) = ([0u8; 32], [0u8; 128]);
        for (pair, n) in (0..QK_K).step_by(64).enumerate() {
            let (m1, m2) = (1u8 << (2 * pair), 2u8 << (2 * pair));
            for j in 0..32 {
                let (mut l1, mut l2) = (l[n + j], l[n + j + 32]);
                if l1 > 15 {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                if l2 > 15 {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[32 * pair + j] = l1 | (l2 << 4);
            }
        }
        out.extend_from_slice(&qh);
        out.extend_from_slice(&ql);
    }
    out
}

/// Q6_K super-blocks, as `quantize_row_q6_K_ref`.
pub fn encode_q6_k(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / QK_K * Q6_K_BYTES);
    for x in values.chunks_exact(QK_K) {
        let mut l = [0i8; QK_K];
        let mut scales = [0.0f32; 16];
        let (mut max_scale, mut max_abs_scale) = (0.0f32, 0.0f32);
        for ib in 0..16 {
            let scale =
                make_qx_quants(&x[16 * ib..16 * ib + 16], 32, &mut l[16 * ib..16 * ib + 16]);
            scales[ib] = scale;
            if scale.abs() > max_abs_scale {
                max_abs_scale = scale.abs();
                max_scale = scale;
            }
        }
        if max_abs_scale < 1e-15 {
            out.extend(std::iter::repeat_n(0u8, Q6_K_BYTES));
            continue;
        }
        let iscale = -128.0f32 / max_scale;
        let d = f32_to_f16_bits(1.0 / iscale);
        let mut sc = [0i8; 16];
        for ib in 0..16 {
            sc[ib] = nearest_int(iscale * scales[ib]).min(127) as i8;
        }
        for j in 0..16 {
            let dj = f16_bits_to_f32(d) * sc[j] as f32;
            if dj == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / dj).clamp(-32, 31) + 32) as i8;
            }
        }
        let (mut ql, mut qh) = ([0u8; 128], [0u8; 64]);
        for (half, j) in (0..QK_K).step_by(128).enumerate() {
            let q = |k: usize| l[j + k] as u8;
            for i in 0..32 {
                ql[64 * half + i] = (q(i) & 0x0f) | ((q(i + 64) & 0x0f) << 4);
                ql[64 * half + i + 32] = (q(i + 32) & 0x0f) | ((q(i + 96) & 0x0f) << 4);
                qh[32 * half + i] = (q(i) >> 4)
                    | ((q(i + 32) >> 4) << 2)
                    | ((q(i + 64) >> 4) << 4)
                    | ((q(i + 96) >> 4) << 6);
            }
        }
        out.extend_from_slice(&ql);
        out.extend_from_slice(&qh);
        out.extend(sc.iter().map(|&s| s as u8));
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_bits_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Q4_K values, as `dequantize_row_q4_K`: d·sc·q − dmin·m, each step rounded to f32.
pub fn decode_q4_k(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q4_K_BYTES * QK_K);
    for b in bytes.chunks_exact(Q4_K_BYTES) {
        let (d, min) = (f16_at(b, 0), f16_at(b, 2));
        let (scales, qs) = (&b[4..16], &b[16..]);
        for (pair, q) in qs.chunks_exact(32).enumerate() {
            for (half, shift) in [(0, 0), (1, 4)] {
                let (sc, m) = scale_min_k4(2 * pair + half, scales);
                let (d1, m1) = (d * sc as f32, min * m as f32);
                out.extend(q.iter().map(|&v| d1 * ((v >> shift) & 0x0f) as f32 - m1));
            }
        }
    }
    out
}

/// Q5_K values, as `dequantize_row_q5_K`.
pub fn decode_q5_k(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q5_K_BYTES * QK_K);
    for b in bytes.chunks_exact(Q5_K_BYTES) {
        let (d, min) = (f16_at(b, 0), f16_at(b, 2));
        let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..]);
        for (pair, ql) in qs.chunks_exact(32).enumerate() {
            for (half, shift) in [(0, 0), (1, 4)] {
                let (sc, m) = scale_min_k4(2 * pair + half, scales);
                let (d1, m1) = (d * sc as f32, min * m as f32);
                let bit = 1u8 << (2 * pair + half);
                out.extend(ql.iter().zip(qh).map(|(&v, &h)| {
                    let q = ((v >> shift) & 0x0f) + if h & bit != 0 { 16 } else { 0 };
                    d1 * q as f32 - m1
                }));
            }
        }
    }
    out
}

/// Q6_K values, as `dequantize_row_q6_K`: (d·scale)·(q − 32) in f32.
pub fn decode_q6_k(bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0f32; bytes.len() / Q6_K_BYTES * QK_K];
    for (b, y) in bytes
        .chunks_exact(Q6_K_BYTES)
        .zip(out.chunks_exact_mut(QK_K))
    {
        let d = f16_at(b, 208);
        let (ql, qh, sc) = (&b[..128], &b[128..192], &b[192..208]);
        for half in 0..2 {
            let (ql, qh, sc) = (&ql[64 * half..], &qh[32 * half..], &sc[8 * half..]);
            let y = &mut y[128 * half..];
            for l in 0..32 {
                let is = l / 16;
                let q = |low: u8, high_shift: u32| {
                    (low | (((qh[l] >> high_shift) & 3) << 4)) as i32 - 32
                };
                let q1 = q(ql[l] & 0x0f, 0);
                let q2 = q(ql[l + 32] & 0x0f, 2);
                let q3 = q(ql[l] >> 4, 4);
                let q4 = q(ql[l + 32] >> 4, 6);
                let s = |k: usize| d * (sc[is + k] as i8) as f32;
                y[l] = s(0) * q1 as f32;
                y[l + 32] = s(2) * q2 as f32;
                y[l + 64] = s(4) * q3 as f32;
                y[l + 96] = s(6) * q4 as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(
            [0.5f32, 1.5, 2.5, -0.5, -1.5, 3.49].map(nearest_int),
            [0, 2, 2, 0, -2, 3]
        );
    }

    #[test]
    fn scales_pack_and_unpack() {
        let ls = [1, 2, 3, 4, 60, 61, 62, 63];
        let lm = [63, 33, 17, 5, 48, 32, 16, 0];
        let packed = pack_scales(&ls, &lm);
        for j in 0..8 {
            assert_eq!(scale_min_k4(j, &packed), (ls[j], lm[j]), "sub-block {j}");
        }
    }

    #[test]
    fn zero_super_blocks_are_zero() {
        let zero = [0.0f32; QK_K];
        assert!(encode_q4_k(&zero).iter().all(|&b| b == 0));
        assert!(encode_q5_k(&zero).iter().all(|&b| b == 0));
        assert!(encode_q6_k(&zero).iter().all(|&b| b == 0));
    }

    #[test]
    fn every_k_quant_decodes_close_to_its_input() {
        let x: Vec<f32> = (0..2 * QK_K)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        for (enc, dec, step) in [
            (
                encode_q4_k as fn(&[f32]) -> Vec<u8>,
                decode_q4_k as fn(&[u8]) -> Vec<f32>,
                15.0,
            ),
            (encode_q5_k, decode_q5_k, 31.0),
            (encode_q6_k, decode_q6_k, 63.0),
        ] {
            let back = dec(&enc(&x));
            let worst = x
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= 2.0 * 100.0 / 7.0 / step, "{step}: {worst}");
        }
    }
}
