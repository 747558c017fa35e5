// K-quant quantization (p.kind: 0 Q4_K, 1 Q5_K, 2 Q6_K) as ggml's quantize_row_q*_K_ref, with
// make_qkx2_quants (Q4_K, Q5_K) and make_qx_quants (Q6_K, rmse_type 1): a workgroup of 16 per
// super-block of 256. Lane j fits sub-block j (8 of 32 or 16 of 16) by ggml's search, then every
// lane derives the super-block scales and requantizes 16 values against the stored scales, and
// the lanes write the bytes. Every f32 operation of ggml's is done, in ggml's order, by the
// integer IEEE arithmetic of softfloat.wgsl: no WGSL float arithmetic touches a value, so the
// bytes do not depend on the driver's division accuracy, fused multiply-adds, subnormal
// flushing or finite-math assumptions. Inputs are read with bitcast only.
// `p: Params` (count = super-blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

// Codes of the super-block's 256 values; the fitted scale and (negated) min of each sub-block.
var<workgroup> kq_codes: array<u32, 256>;
var<workgroup> kq_fit_scale: array<u32, 16>;
var<workgroup> kq_fit_min: array<u32, 16>;

const KQ_63: u32 = 0x427c0000u;
const KQ_TENTH: u32 = 0x3dcccccdu; // 0.1f
const KQ_EPS: u32 = 0x26901d7du; // 1e-15f, ggml's GROUP_MAX_EPS

fn kq_x(i: u32) -> u32 {
    return bitcast<u32>(load_x(i));
}

// clamp(nearest_int(iscale · (v - offset)), 0, nmax).
fn kq_affine_code(iscale: u32, v: u32, offset: u32, nmax: i32) -> u32 {
    return u32(clamp(sf_nearest_int(sf_mul(iscale, sf_sub(v, offset))), 0, nmax));
}

// w · (scale · q + offset - x)².
fn kq_weighted_error(w: u32, scale: u32, q: u32, offset: u32, x: u32) -> u32 {
    let diff = sf_sub(sf_add(sf_mul(scale, sf_int(i32(q))), offset), x);
    return sf_mul(w, sf_mul(diff, diff));
}

// make_qkx2_quants over the 32 values at `first` with weights av_x + |x|: codes into kq_codes at
// `at`; returns (scale, -min).
fn kq_fit_affine(first: u32, at: u32, nmax: i32, rmin: u32, nstep: u32) -> vec2<u32> {
    var x: array<u32, 32>;
    var w: array<u32, 32>;
    var sum_x2 = 0u;
    for (var i = 0u; i < 32u; i++) {
        x[i] = kq_x(first + i);
        sum_x2 = sf_add(sum_x2, sf_mul(x[i], x[i]));
    }
    let av_x = sf_sqrt(sf_div(sum_x2, 0x42000000u));
    for (var i = 0u; i < 32u; i++) {
        w[i] = sf_add(av_x, x[i] & 0x7fffffffu);
    }
    var lo = x[0];
    var hi = x[0];
    var sum_w = w[0];
    var sum_x = sf_mul(sum_w, x[0]);
    for (var i = 1u; i < 32u; i++) {
        if (sf_lt(x[i], lo)) {
            lo = x[i];
        }
        if (sf_lt(hi, x[i])) {
            hi = x[i];
        }
        sum_w = sf_add(sum_w, w[i]);
        sum_x = sf_add(sum_x, sf_mul(w[i], x[i]));
    }
    if (sf_lt(0u, lo)) {
        lo = 0u;
    }
    if (sf_eq(hi, lo)) {
        for (var i = 0u; i < 32u; i++) {
            kq_codes[at + i] = 0u;
        }
        return vec2<u32>(0u, sf_neg(lo));
    }
    var iscale = sf_div(sf_int(nmax), sf_sub(hi, lo));
    var scale = sf_div(SF_ONE, iscale);
    var offset = lo;
    var best = 0u;
    for (var i = 0u; i < 32u; i++) {
        let q = kq_affine_code(iscale, x[i], lo, nmax);
        kq_codes[at + i] = q;
        best = sf_add(best, kq_weighted_error(w[i], scale, q, offset, x[i]));
    }
    var trial: array<u32, 32>;
    for (var step = 0u; step <= nstep; step++) {
        // ggml measures from the best offset so far, not from the sub-block's minimum.
        iscale = sf_div(sf_add(sf_add(rmin, sf_mul(KQ_TENTH, sf_int(i32(step)))), sf_int(nmax)), sf_sub(hi, offset));
        var sl = 0u;
        var sl2 = 0u;
        var sxl = 0u;
        for (var i = 0u; i < 32u; i++) {
            let q = kq_affine_code(iscale, x[i], offset, nmax);
            trial[i] = q;
            let wl = sf_mul(w[i], sf_int(i32(q)));
            sl = sf_add(sl, wl);
            sl2 = sf_add(sl2, sf_mul(wl, sf_int(i32(q))));
            sxl = sf_add(sxl, sf_mul(wl, x[i]));
        }
        let det = sf_sub(sf_mul(sum_w, sl2), sf_mul(sl, sl));
        if (sf_lt(0u, det)) {
            var this_scale = sf_div(sf_sub(sf_mul(sum_w, sxl), sf_mul(sum_x, sl)), det);
            var this_min = sf_div(sf_sub(sf_mul(sl2, sum_x), sf_mul(sl, sxl)), det);
            if (sf_lt(0u, this_min)) {
                this_min = 0u;
                this_scale = sf_div(sxl, sl2);
            }
            var err = 0u;
            for (var i = 0u; i < 32u; i++) {
                err = sf_add(err, kq_weighted_error(w[i], this_scale, trial[i], this_min, x[i]));
            }
            if (sf_lt(err, best)) {
                for (var i = 0u; i < 32u; i++) {
                    kq_codes[at + i] = trial[i];
                }
                best = err;
                scale = this_scale;
                offset = this_min;
            }
        }
    }
    return vec2<u32>(scale, sf_neg(offset));
}

// The 6-bit code of a fitted scale or min: nearest_int(inv · v) kept as a byte (ggml's uint8_t),
// then at most 63.
fn kq_six_bit(inv: u32, v: u32) -> u32 {
    return min(u32(sf_nearest_int(sf_mul(inv, v))) & 0xffu, 63u);
}

// 63 / m when m > 0, else 0.
fn kq_inverse63(m: u32) -> u32 {
    if (sf_lt(0u, m)) {
        return sf_div(KQ_63, m);
    }
    return 0u;
}

// Q4_K (p.kind 0) or Q5_K (1): 144 or 176 bytes at out.
fn kq_affine_block(first: u32, out: u32, lane: u32) {
    let q5 = p.kind == 1u;
    let nmax = select(15, 31, q5);
    if (lane < 8u) {
        // rmin -1, 20 steps (Q4_K); -0.5, 15 steps (Q5_K); rdelta 0.1.
        let fit = kq_fit_affine(first + 32u * lane, 32u * lane, nmax, select(0xbf800000u, 0xbf000000u, q5), select(20u, 15u, q5));
        kq_fit_scale[lane] = fit.x;
        kq_fit_min[lane] = fit.y;
    }
    workgroupBarrier();
    var max_scale = 0u;
    var max_min = 0u;
    for (var j = 0u; j < 8u; j++) {
        if (sf_lt(max_scale, kq_fit_scale[j])) {
            max_scale = kq_fit_scale[j];
        }
        if (sf_lt(max_min, kq_fit_min[j])) {
            max_min = kq_fit_min[j];
        }
    }
    let inv_scale = kq_inverse63(max_scale);
    let inv_min = kq_inverse63(max_min);
    let d_bits = f32_to_f16_rne(bitcast<f32>(sf_div(max_scale, KQ_63)));
    let dmin_bits = f32_to_f16_rne(bitcast<f32>(sf_div(max_min, KQ_63)));
    // Requantize this lane's 16 values (half of sub-block lane / 2) against the stored scales.
    let j = lane / 2u;
    let step = sf_mul(bitcast<u32>(f16_to_f32(d_bits)), sf_int(i32(kq_six_bit(inv_scale, kq_fit_scale[j]))));
    if ((step & 0x7fffffffu) != 0u) {
        let offset = sf_mul(bitcast<u32>(f16_to_f32(dmin_bits)), sf_int(i32(kq_six_bit(inv_min, kq_fit_min[j]))));
        for (var i = 16u * lane; i < 16u * lane + 16u; i++) {
            let q = sf_nearest_int(sf_div(sf_add(kq_x(first + i), offset), step));
            kq_codes[i] = u32(clamp(q, 0, nmax));
        }
    }
    workgroupBarrier();
    if (lane == 0u) {
        store_out(out, d_bits & 0xffu);
        store_out(out + 1u, d_bits >> 8u);
        store_out(out + 2u, dmin_bits & 0xffu);
        store_out(out + 3u, dmin_bits >> 8u);
        // Sub-blocks 0..3 in bytes 0..7; 4..7 as low nibbles in bytes 8..11, top bits in 0..7.
        for (var k = 0u; k < 4u; k++) {
            let sc_lo = kq_six_bit(inv_scale, kq_fit_scale[k]);
            let m_lo = kq_six_bit(inv_min, kq_fit_min[k]);
            let sc_hi = kq_six_bit(inv_scale, kq_fit_scale[k + 4u]);
            let m_hi = kq_six_bit(inv_min, kq_fit_min[k + 4u]);
            store_out(out + 4u + k, sc_lo | ((sc_hi >> 4u) << 6u));
            store_out(out + 8u + k, m_lo | ((m_hi >> 4u) << 6u));
            store_out(out + 12u + k, (sc_hi & 0xfu) | ((m_hi & 0xfu) << 4u));
        }
    }
    var qs = out + 16u;
    if (q5) {
        qs = out + 48u;
        // qh: bit 2g of byte l is the fifth bit of value 64g + l, bit 2g + 1 that of 64g + 32 + l.
        for (var l = 2u * lane; l < 2u * lane + 2u; l++) {
            var h = 0u;
            for (var g = 0u; g < 4u; g++) {
                h = h | ((kq_codes[64u * g + l] >> 4u) << (2u * g)) | ((kq_codes[64u * g + l + 32u] >> 4u) << (2u * g + 1u));
            }
            store_out(out + 16u + l, h);
        }
    }
    // Byte l of group g: value 64g + l in the low nibble, 64g + 32 + l in the high one.
    for (var b = 8u * lane; b < 8u * lane + 8u; b++) {
        let g = b / 32u;
        let l = b % 32u;
        store_out(qs + b, (kq_codes[64u * g + l] & 0xfu) | ((kq_codes[64u * g + l + 32u] & 0xfu) << 4u));
    }
}

// make_qx_quants (nmax 32, weights x²) over the 16 values at `first`: codes (offset by 32) into
// kq_codes at `at`; returns the scale.
fn kq_fit_symmetric(first: u32, at: u32) -> u32 {
    var x: array<u32, 16>;
    var signed_max = 0u;
    var amax = 0u;
    for (var i = 0u; i < 16u; i++) {
        x[i] = kq_x(first + i);
        let a = x[i] & 0x7fffffffu;
        if (sf_lt(amax, a)) {
            amax = a;
            signed_max = x[i];
        }
    }
    if (sf_lt(amax, KQ_EPS)) {
        for (var i = 0u; i < 16u; i++) {
            kq_codes[at + i] = 0u;
        }
        return 0u;
    }
    var iscale = sf_div(0xc2000000u, signed_max); // -32 / max
    var sumlx = 0u;
    var suml2 = 0u;
    for (var i = 0u; i < 16u; i++) {
        let l = clamp(sf_nearest_int(sf_mul(iscale, x[i])), -32, 31);
        kq_codes[at + i] = u32(l + 32);
        let w = sf_mul(x[i], x[i]);
        sumlx = sf_add(sumlx, sf_mul(sf_mul(w, x[i]), sf_int(l)));
        suml2 = sf_add(suml2, sf_mul(sf_mul(w, sf_int(l)), sf_int(l)));
    }
    var scale = 0u;
    if (!sf_eq(suml2, 0u)) {
        scale = sf_div(sumlx, suml2);
    }
    var best = sf_mul(scale, sumlx);
    for (var is = -9; is <= 9; is++) {
        if (is == 0) {
            continue;
        }
        iscale = sf_div(sf_neg(sf_add(0x42000000u, sf_mul(KQ_TENTH, sf_int(is)))), signed_max);
        var lx = 0u;
        var l2 = 0u;
        for (var i = 0u; i < 16u; i++) {
            let l = clamp(sf_nearest_int(sf_mul(iscale, x[i])), -32, 31);
            let w = sf_mul(x[i], x[i]);
            lx = sf_add(lx, sf_mul(sf_mul(w, x[i]), sf_int(l)));
            l2 = sf_add(l2, sf_mul(sf_mul(w, sf_int(l)), sf_int(l)));
        }
        if (sf_lt(0u, l2) && sf_lt(sf_mul(best, l2), sf_mul(lx, lx))) {
            for (var i = 0u; i < 16u; i++) {
                kq_codes[at + i] = u32(clamp(sf_nearest_int(sf_mul(iscale, x[i])), -32, 31) + 32);
            }
            scale = sf_div(lx, l2);
            best = sf_mul(scale, lx);
        }
    }
    return scale;
}

// Q6_K (p.kind 2): 210 bytes at out.
fn kq_q6_block(first: u32, out: u32, lane: u32) {
    kq_fit_scale[lane] = kq_fit_symmetric(first + 16u * lane, 16u * lane);
    workgroupBarrier();
    var max_scale = 0u;
    var max_abs = 0u;
    for (var j = 0u; j < 16u; j++) {
        let a = kq_fit_scale[j] & 0x7fffffffu;
        if (sf_lt(max_abs, a)) {
            max_abs = a;
            max_scale = kq_fit_scale[j];
        }
    }
    let zero = sf_lt(max_abs, KQ_EPS);
    let iscale = sf_div(0xc3000000u, max_scale); // -128 / max_scale
    let d_bits = f32_to_f16_rne(bitcast<f32>(sf_div(SF_ONE, iscale)));
    // MIN(127, nearest_int(iscale · scale)) stored as an int8_t.
    let sc = u32(min(sf_nearest_int(sf_mul(iscale, kq_fit_scale[lane])), 127)) & 0xffu;
    let step = sf_mul(bitcast<u32>(f16_to_f32(d_bits)), sf_int(sext8(sc)));
    if (!zero && (step & 0x7fffffffu) != 0u) {
        for (var i = 16u * lane; i < 16u * lane + 16u; i++) {
            kq_codes[i] = u32(clamp(sf_nearest_int(sf_div(kq_x(first + i), step)), -32, 31) + 32);
        }
    }
    workgroupBarrier();
    if (zero) {
        for (var b = lane; b < 210u; b += 16u) {
            store_out(out + b, 0u);
        }
        return;
    }
    // ql: in half h, byte l holds values l (low) and l + 64 (high), byte 32 + l values l + 32
    // and l + 96; qh byte l the top two bits of l, l + 32, l + 64, l + 96.
    for (var b = 8u * lane; b < 8u * lane + 8u; b++) {
        let h = b / 64u;
        let l = b % 32u;
        let v = 128u * h + l + 32u * ((b % 64u) / 32u);
        store_out(out + b, (kq_codes[v] & 0xfu) | ((kq_codes[v + 64u] & 0xfu) << 4u));
    }
    for (var b = 4u * lane; b < 4u * lane + 4u; b++) {
        let v = 128u * (b / 32u) + b % 32u;
        store_out(out + 128u + b, (kq_codes[v] >> 4u) | ((kq_codes[v + 32u] >> 4u) << 2u) | ((kq_codes[v + 64u] >> 4u) << 4u) | ((kq_codes[v + 96u] >> 4u) << 6u));
    }
    store_out(out + 192u + lane, sc);
    if (lane == 0u) {
        store_out(out + 208u, d_bits & 0xffu);
        store_out(out + 209u, d_bits >> 8u);
    }
}

@compute @workgroup_size(16, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let sb = wid.y * 65535u + wid.x;
    if (sb >= p.count) {
        return;
    }
    if (p.kind == 2u) {
        kq_q6_block(sb * 256u, sb * 210u, lane);
    } else {
        kq_affine_block(sb * 256u, sb * select(144u, 176u, p.kind == 1u), lane);
    }
}
