// Exact arithmetic for the quantizers. A format's bits are defined by IEEE f32 operations done
// one at a time (as in the GGML and DeepSeek references), but WGSL's `/` is only accurate to
// 2.5 ulp and a driver may fuse a multiply into a following add. So divisions go through
// div_rn (integer long division, round to nearest even), and after each multiply a format
// defines, the rounded product is taken as bits and all later rounding is integer work.

// Significand with the implicit bit (in [2^23, 2^24)) and unbiased exponent of a finite,
// non-zero f32 magnitude given as bits (subnormals normalised).
struct Mag {
    sig: u32,
    exp: i32,
}

fn unpack_mag(a: u32) -> Mag {
    let biased = i32(a >> 23u);
    if (biased == 0) {
        let lz = countLeadingZeros(a) - 8u;
        return Mag(a << lz, -126 - i32(lz));
    }
    return Mag((a & 0x7fffffu) | 0x800000u, biased - 127);
}

// Rounds a magnitude to the nearest integer, ties to even: sig >> shift, with the shifted-out
// bits (plus `sticky`, more bits below them) deciding the last bit. shift >= 1.
fn shift_rn(sig: u32, shift: u32, sticky: bool) -> u32 {
    if (shift >= 32u) {
        return 0u;
    }
    let kept = sig >> shift;
    let rest = sig & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (sticky || (kept & 1u) == 1u))) {
        return kept + 1u;
    }
    return kept;
}

// The f32 nearest (ties to even) to q · 2^(e - 24), q in [2^24, 2^25), `sticky` if nonzero bits
// lie below q; with the given sign bit. Overflows to infinity, rounds into the subnormals.
fn pack_rn(sign: u32, q: u32, e: i32, sticky: bool) -> f32 {
    let biased = e + 127;
    if (biased >= 255) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (biased >= 1) {
        var sig = shift_rn(q, 1u, sticky);
        var field = u32(biased);
        if (sig == 0x1000000u) {
            sig = 0x800000u;
            field = field + 1u;
        }
        if (field >= 255u) {
            return bitcast<f32>(sign | 0x7f800000u);
        }
        return bitcast<f32>(sign | (field << 23u) | (sig & 0x7fffffu));
    }
    // Subnormal result: value / 2^-149 = q · 2^(e + 125).
    return bitcast<f32>(sign | shift_rn(q, u32(-(e + 125)), sticky));
}

// x / y rounded to nearest even, exactly as IEEE division.
fn div_rn(x: f32, y: f32) -> f32 {
    let xb = bitcast<u32>(x);
    let yb = bitcast<u32>(y);
    let sign = (xb ^ yb) & 0x80000000u;
    let xa = xb & 0x7fffffffu;
    let ya = yb & 0x7fffffffu;
    if (xa > 0x7f800000u || ya > 0x7f800000u || (xa == 0u && ya == 0u) || (xa == 0x7f800000u && ya == 0x7f800000u)) {
        return bitcast<f32>(0x7fc00000u);
    }
    if (xa == 0x7f800000u || ya == 0u) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (xa == 0u || ya == 0x7f800000u) {
        return bitcast<f32>(sign);
    }
    let mx = unpack_mag(xa);
    let my = unpack_mag(ya);
    var n = mx.sig;
    var e = mx.exp - my.exp;
    if (n < my.sig) {
        n = n << 1u;
        e = e - 1;
    }
    // 25 quotient bits (24 and a guard bit) by shift and subtract; the remainder is the sticky bit.
    var q = 0u;
    for (var i = 0u; i < 25u; i++) {
        q = q << 1u;
        if (n >= my.sig) {
            n = n - my.sig;
            q = q | 1u;
        }
        n = n << 1u;
    }
    return pack_rn(sign, q, e, n != 0u);
}

// C's roundf (half away from zero) of the f32 with bits vb, as an integer.
fn round_away_bits(vb: u32) -> i32 {
    let a = vb & 0x7fffffffu;
    let e = i32(a >> 23u) - 127;
    var r = 0u;
    if (e > 30) {
        r = 0x7fffffffu;
    } else if (e >= 23) {
        r = ((a & 0x7fffffu) | 0x800000u) << u32(e - 23);
    } else if (e >= -1) {
        let sig = (a & 0x7fffffu) | 0x800000u;
        let shift = u32(23 - e);
        r = sig >> shift;
        if ((sig & ((1u << shift) - 1u)) >= (1u << (shift - 1u))) {
            r = r + 1u;
        }
    }
    return select(i32(r), -i32(r), (vb >> 31u) == 1u);
}

// Q4_0's code min(15, trunc(v + 8.5)) for the f32 v with bits vb, where v + 8.5 is rounded to
// f32 (nearest even) before the truncation, as in the reference. Works in fixed point with
// 2^-26 units (plus a sticky bit for finer bits of v), valid for |v| <= 16.
fn q4_code(vb: u32) -> u32 {
    let a = vb & 0x7fffffffu;
    var magnitude = 0u;
    var sticky = false;
    if (a != 0u) {
        let m = unpack_mag(a);
        let shift = m.exp + 3; // v · 2^26 = sig · 2^(exp + 3)
        if (shift >= 0) {
            magnitude = m.sig << u32(shift);
        } else if (shift > -32) {
            magnitude = m.sig >> u32(-shift);
            sticky = (m.sig & ((1u << u32(-shift)) - 1u)) != 0u;
        } else {
            sticky = true;
        }
    }
    // floor(v · 2^26) + 8.5 · 2^26; a negative v with dropped bits floors one unit further down.
    var s = 570425344;
    if ((vb >> 31u) == 1u) {
        s = s - i32(magnitude) - select(0, 1, sticky);
    } else {
        s = s + i32(magnitude);
    }
    if (s <= 0) {
        return 0u;
    }
    let su = u32(s);
    // f32 spacing of v + 8.5 in 2^-26 units: 2^(top bit - 23).
    let ulp_shift = max(31u - countLeadingZeros(su), 24u) - 23u;
    let rounded = shift_rn(su, ulp_shift, sticky) << ulp_shift;
    return min(rounded >> 26u, 15u);
}

// f32 -> f16 bits, round to nearest even; NaN stays a quiet NaN with its sign.
fn f32_to_f16_rne(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let a = b & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00u | ((a >> 13u) & 0x1ffu);
    }
    if (a >= 0x477ff000u) {
        return sign | 0x7c00u; // 65520 and above round to infinity
    }
    if (a >= 0x38800000u) {
        let r = a + 0xfffu + ((a >> 13u) & 1u);
        return sign | ((r >> 13u) - 0x1c000u); // rebias the exponent from 127 to 15
    }
    let e = i32(a >> 23u) - 127;
    if (e < -25) {
        return sign;
    }
    // Subnormal f16: |x| / 2^-24 = sig >> (-1 - e), to nearest even.
    return sign | shift_rn((a & 0x7fffffu) | 0x800000u, u32(-1 - e), false);
}

// f16 bits -> f32 (exact).
fn f16_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    if (e == 0u) {
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8)); // m · 2^-24
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// f32 -> OCP FP8 E4M3 bits: nearest even, saturating at ±448 (infinities too), NaN -> S.1111.111.
fn f32_to_e4m3(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 24u) & 0x80u;
    let a = b & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7fu;
    }
    if (a >= 0x43e00000u) {
        return sign | 0x7eu;
    }
    let e = i32(a >> 23u) - 127;
    if (e < -6) {
        if (e < -10) {
            return sign;
        }
        // Subnormal E4M3: |x| / 2^-9 = sig >> (14 - e), to nearest even.
        return sign | shift_rn((a & 0x7fffffu) | 0x800000u, u32(14 - e), false);
    }
    var code = (u32(e + 7) << 3u) | ((a >> 20u) & 7u);
    let rest = a & 0xfffffu;
    if (rest > 0x80000u || (rest == 0x80000u && (code & 1u) == 1u)) {
        code = code + 1u;
    }
    return sign | code;
}

// E4M3 bits -> f32 (exact).
fn e4m3_to_f32(c: u32) -> f32 {
    let sign = (c & 0x80u) << 24u;
    let e = (c >> 3u) & 0xfu;
    let m = c & 7u;
    if (e == 15u && m == 7u) {
        return bitcast<f32>(sign | 0x7fc00000u);
    }
    if (e == 0u) {
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 0.001953125)); // m · 2^-9
    }
    return bitcast<f32>(sign | ((e + 120u) << 23u) | (m << 20u));
}

// A signed byte (0..=255 as stored) as i32.
fn sext8(b: u32) -> i32 {
    return i32(b << 24u) >> 24u;
}

