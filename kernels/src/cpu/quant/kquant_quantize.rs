//! CPU quantizer of GGML's K-quants (`quantize/kquant`: Q4_K, Q5_K, Q6_K), written from ggml's
//! `quantize_row_q4_K_ref`, `quantize_row_q5_K_ref` and `quantize_row_q6_K_ref`
//! (ggml/src/ggml-quants.c, with `make_qkx2_quants`, `make_qx_quants` and `nearest_int`): every
//! step one IEEE f32 operation in ggml's order (Rust never fuses a multiply into an add), so the
//! bytes match ggml's C built without contraction. Super-blocks in parallel.

use crosscheck_spec::{HostTensor, K_SUPER_BLOCK, QuantFormat, QuantizeProblem};
use rayon::prelude::*;

/// ggml's `nearest_int`: adding 1.5 · 2^23 rounds to an integer (nearest even) in the low
/// mantissa bits; taken literally, so it is defined for every f32.
fn nearest_int(f: f32) -> i32 {
    ((f + 12_582_912.0f32).to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

fn f16_round_trip(v: f32) -> (u16, f32) {
    let h = half::f16::from_f32(v);
    (h.to_bits(), h.to_f32())
}

/// Search parameters of ggml's `make_qkx2_quants` for one format.
struct Search {
    /// Largest code (15 for Q4_K, 31 for Q5_K).
    nmax: i32,
    /// First offset tried on nmax.
    rmin: f32,
    /// Number of further offsets (each 0.1 apart).
    nstep: i32,
}

/// A sub-block's fitted affine map: value ≈ scale · code − min.
struct Fit {
    scale: f32,
    /// The negated offset (ggml's `the_min`), ≥ 0 unless the sub-block is odd (NaN).
    min: f32,
}

/// Weighted squared error of codes `q` under (scale, offset) as ggml sums it.
fn weighted_error(x: &[f32], w: &[f32], q: &[u8], scale: f32, offset: f32) -> f32 {
    let mut err = 0.0f32;
    for i in 0..x.len() {
        let diff = scale * q[i] as f32 + offset - x[i];
        err += w[i] * (diff * diff);
    }
    err
}

/// `make_qkx2_quants` (no MAD) over 32 values: the best (scale, offset) of nstep + 1 candidate
/// reciprocal scales, each refined by weighted least squares; codes into `codes`.
fn fit_affine(x: &[f32], w: &[f32], s: &Search, codes: &mut [u8]) -> Fit {
    let (mut lo, mut hi) = (x[0], x[0]);
    let mut sum_w = w[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..x.len() {
        if x[i] < lo {
            lo = x[i];
        }
        if x[i] > hi {
            hi = x[i];
        }
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if lo > 0.0 {
        lo = 0.0;
    }
    if hi == lo {
        codes.fill(0);
        return Fit {
            scale: 0.0,
            min: -lo,
        };
    }
    let code_of = |iscale: f32, v: f32, offset: f32| {
        nearest_int(iscale * (v - offset)).clamp(0, s.nmax) as u8
    };
    let iscale = s.nmax as f32 / (hi - lo);
    let mut best_scale = 1.0 / iscale;
    let mut best_offset = lo;
    for (c, &v) in codes.iter_mut().zip(x) {
        *c = code_of(iscale, v, lo);
    }
    let mut best = weighted_error(x, w, codes, best_scale, best_offset);
    let mut trial = [0u8; 32];
    for step in 0..=s.nstep {
        // ggml measures from the best offset so far, not from the sub-block's minimum.
        let iscale = (s.rmin + 0.1f32 * step as f32 + s.nmax as f32) / (hi - best_offset);
        let (mut sl, mut sl2, mut sxl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..x.len() {
            trial[i] = code_of(iscale, x[i], best_offset);
            let l = trial[i] as f32;
            sl += w[i] * l;
            sl2 += w[i] * l * l;
            sxl += w[i] * l * x[i];
        }
        let det = sum_w * sl2 - sl * sl;
        // ggml's `if (D > 0)`: a NaN determinant skips the candidate too.
        if det.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let mut scale = (sum_w * sxl - sum_x * sl) / det;
        let mut offset = (sl2 * sum_x - sl * sxl) / det;
        if offset > 0.0 {
            offset = 0.0;
            scale = sxl / sl2;
        }
        let err = weighted_error(x, w, &trial[..x.len()], scale, offset);
        if err < best {
            codes.copy_from_slice(&trial[..x.len()]);
            best = err;
            best_scale = scale;
            best_offset = offset;
        }
    }
    Fit {
        scale: best_scale,
        min: -best_offset,
    }
}

/// The 12 bytes holding eight 6-bit scales and mins (sub-blocks 4…7 split: low four bits in
/// bytes 8…11, top two bits in the top bits of bytes 0…7).
fn pack_six_bit(sc: &[u8; 8], mn: &[u8; 8]) -> [u8; 12] {
    let mut b = [0u8; 12];
    for j in 0..4 {
        b[j] = sc[j] | (sc[j + 4] >> 4) << 6;
        b[j + 4] = mn[j] | (mn[j + 4] >> 4) << 6;
        b[j + 8] = (sc[j + 4] & 0xf) | (mn[j + 4] & 0xf) << 4;
    }
    b
}

/// Q4_K or Q5_K: header (d, dmin, packed scales) and the 256 codes.
fn affine_super_block(x: &[f32], s: &Search) -> ([u8; 16], [u8; K_SUPER_BLOCK]) {
    let mut codes = [0u8; K_SUPER_BLOCK];
    let mut fits = Vec::with_capacity(8);
    for (sub, q) in x.chunks_exact(32).zip(codes.chunks_exact_mut(32)) {
        let mut sum_x2 = 0.0f32;
        for &v in sub {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let w: Vec<f32> = sub.iter().map(|v| av_x + v.abs()).collect();
        fits.push(fit_affine(sub, &w, s, q));
    }
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for f in &fits {
        if f.scale > max_scale {
            max_scale = f.scale;
        }
        if f.min > max_min {
            max_min = f.min;
        }
    }
    let inv = |m: f32| if m > 0.0 { 63.0 / m } else { 0.0 };
    let (inv_scale, inv_min) = (inv(max_scale), inv(max_min));
    let (mut sc, mut mn) = ([0u8; 8], [0u8; 8]);
    for (j, f) in fits.iter().enumerate() {
        // ggml stores the int in a uint8_t (modulo 256) before clamping to 63.
        sc[j] = (nearest_int(inv_scale * f.scale) as u8).min(63);
        mn[j] = (nearest_int(inv_min * f.min) as u8).min(63);
    }
    let (d_bits, d) = f16_round_trip(max_scale / 63.0);
    let (dmin_bits, dmin) = f16_round_trip(max_min / 63.0);
    for j in 0..8 {
        let step = d * sc[j] as f32;
        if step == 0.0 {
            continue; // ggml's `if (!d) continue;`: the search's codes stay
        }
        let offset = dmin * mn[j] as f32;
        for i in 32 * j..32 * j + 32 {
            codes[i] = nearest_int((x[i] + offset) / step).clamp(0, s.nmax) as u8;
        }
    }
    let mut head = [0u8; 16];
    head[..2].copy_from_slice(&d_bits.to_le_bytes());
    head[2..4].copy_from_slice(&dmin_bits.to_le_bytes());
    head[4..].copy_from_slice(&pack_six_bit(&sc, &mn));
    (head, codes)
}

fn q4_k(x: &[f32]) -> Vec<u8> {
    let search = Search {
        nmax: 15,
        rmin: -1.0,
        nstep: 20,
    };
    let (head, codes) = affine_super_block(x, &search);
    let mut out = head.to_vec();
    for g in 0..4 {
        let q = &codes[64 * g..64 * g + 64];
        out.extend((0..32).map(|l| q[l] | q[l + 32] << 4));
    }
    out
}

fn q5_k(x: &[f32]) -> Vec<u8> {
    let search = Search {
        nmax: 31,
        rmin: -0.5,
        nstep: 15,
    };
    let (head, codes) = affine_super_block(x, &search);
    let mut qh = [0u8; 32];
    let mut ql = [0u8; 128];
    for g in 0..4 {
        let q = &codes[64 * g..64 * g + 64];
        for l in 0..32 {
            let (a, b) = (q[l], q[l + 32]);
            qh[l] |= (a >> 4) << (2 * g) | (b >> 4) << (2 * g + 1);
            ql[32 * g + l] = (a & 0xf) | (b & 0xf) << 4;
        }
    }
    [&head[..], &qh, &ql].concat()
}

/// `make_qx_quants` with rmse_type 1 over 16 values: the scale maximising Σw·x·l² / Σw·l² over
/// 19 reciprocal scales (weights x²); signed codes offset by 32 into `codes`.
fn fit_symmetric(x: &[f32], codes: &mut [i8]) -> f32 {
    const NMAX: i32 = 32;
    let (mut signed_max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            signed_max = v;
        }
    }
    if amax < 1e-15 {
        codes.fill(0);
        return 0.0;
    }
    let level = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-NMAX, NMAX - 1);
    let moments = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let l = level(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let mut write = |iscale: f32| {
        for (c, &v) in codes.iter_mut().zip(x) {
            *c = (level(iscale, v) + NMAX) as i8;
        }
    };
    let first = -(NMAX as f32) / signed_max;
    write(first);
    let (sumlx, suml2) = moments(first);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in (-9..=9).filter(|&is| is != 0) {
        let iscale = -(NMAX as f32 + 0.1f32 * is as f32) / signed_max;
        let (sumlx, suml2) = moments(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            write(iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

fn q6_k(x: &[f32]) -> Vec<u8> {
    let mut codes = [0i8; K_SUPER_BLOCK];
    let mut scales = [0.0f32; 16];
    let (mut max_scale, mut max_abs) = (0.0f32, 0.0f32);
    for (ib, (sub, q)) in x
        .chunks_exact(16)
        .zip(codes.chunks_exact_mut(16))
        .enumerate()
    {
        scales[ib] = fit_symmetric(sub, q);
        if scales[ib].abs() > max_abs {
            max_abs = scales[ib].abs();
            max_scale = scales[ib];
        }
    }
    if max_abs < 1e-15 {
        return vec![0; 210];
    }
    let iscale = -128.0f32 / max_scale;
    let (d_bits, d) = f16_round_trip(1.0 / iscale);
    // ggml's MIN(127, ·) stored into an int8_t (modulo 256 below −128).
    let sc: Vec<i8> = scales
        .iter()
        .map(|&s| nearest_int(iscale * s).min(127) as i8)
        .collect();
    for (j, &s) in sc.iter().enumerate() {
        let step = d * s as f32;
        if step == 0.0 {
            continue;
        }
        for i in 16 * j..16 * j + 16 {
            codes[i] = (nearest_int(x[i] / step).clamp(-32, 31) + 32) as i8;
        }
    }
    let q = |i: usize| codes[i] as u8;
    let (mut ql, mut qh) = ([0u8; 128], [0u8; 64]);
    for h in 0..2 {
        let base = 128 * h;
        for l in 0..32 {
            let (a, b, c, e) = (
                q(base + l),
                q(base + l + 32),
                q(base + l + 64),
                q(base + l + 96),
            );
            ql[64 * h + l] = (a & 0xf) | (c & 0xf) << 4;
            ql[64 * h + l + 32] = (b & 0xf) | (e & 0xf) << 4;
            qh[32 * h + l] = a >> 4 | (b >> 4) << 2 | (c >> 4) << 4 | (e >> 4) << 6;
        }
    }
    let mut out = [&ql[..], &qh].concat();
    out.extend(sc.iter().map(|&s| s as u8));
    out.extend_from_slice(&d_bits.to_le_bytes());
    out
}

/// Quantize the problem's rows, a super-block at a time.
pub fn quantize(p: &QuantizeProblem, x: &HostTensor) -> Vec<u8> {
    let values = x.to_f32();
    let encode: fn(&[f32]) -> Vec<u8> = match p.format {
        QuantFormat::Q4K => q4_k,
        QuantFormat::Q5K => q5_k,
        QuantFormat::Q6K => q6_k,
        other => panic!("{other} is not a K-quant"),
    };
    let blocks: Vec<Vec<u8>> = values.par_chunks(K_SUPER_BLOCK).map(encode).collect();
    blocks.concat()
}
