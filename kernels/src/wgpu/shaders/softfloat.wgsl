// IEEE binary32 arithmetic in integer operations, on f32 bit patterns held in u32: add, multiply,
// divide, square root and comparisons, each correctly rounded
// to nearest even with subnormals kept and IEEE infinities. For quantizers whose format is a
// long chain of f32 operations (ggml's K-quants): WGSL's own `/` and `sqrt` are inexact, a driver
// may fuse a * b + c, flush subnormals and assume finite math, and none of that can happen to
// integer code. Every NaN result is the quiet NaN 0x7fc00000 (payload 0x400000, the payload x86
// gives and passes on; only the low mantissa bits of a NaN are ever looked at, by nearest_int).
// Needs unpack_mag and shift_rn (quant_common.wgsl).

const SF_NAN: u32 = 0x7fc00000u;
const SF_ONE: u32 = 0x3f800000u;

fn sf_is_nan(a: u32) -> bool {
    return (a & 0x7fffffffu) > 0x7f800000u;
}

// A signed integer that orders finite and infinite f32 bit patterns as their values (±0 equal).
fn sf_key(a: u32) -> i32 {
    if ((a >> 31u) == 1u) {
        return -i32(a & 0x7fffffffu);
    }
    return i32(a);
}

// a < b as IEEE compares: false when either is NaN.
fn sf_lt(a: u32, b: u32) -> bool {
    return !sf_is_nan(a) && !sf_is_nan(b) && sf_key(a) < sf_key(b);
}

// a == b as IEEE compares (-0 == +0, NaN unequal to everything).
fn sf_eq(a: u32, b: u32) -> bool {
    return !sf_is_nan(a) && !sf_is_nan(b) && sf_key(a) == sf_key(b);
}

fn sf_neg(a: u32) -> u32 {
    return a ^ 0x80000000u;
}

// A small integer (|i| < 2^24) as f32 bits: exact.
fn sf_int(i: i32) -> u32 {
    return bitcast<u32>(f32(i));
}

// The f32 nearest (ties to even) to (m + s) · 2^e, s in (0, 1) when `sticky`, else 0; m != 0,
// m < 2^31 and at least 25 significant bits in m whenever `sticky`. Overflows to infinity,
// rounds into the subnormals.
fn sf_pack(sign: u32, m: u32, e: i32, sticky: bool) -> u32 {
    let t = i32(31u - countLeadingZeros(m));
    var biased = t + e + 127;
    if (biased >= 1) {
        var sig = 0u;
        if (t > 23) {
            sig = shift_rn(m, u32(t - 23), sticky);
            if (sig == 0x1000000u) {
                sig = 0x800000u;
                biased = biased + 1;
            }
        } else {
            sig = m << u32(23 - t);
        }
        if (biased >= 255) {
            return sign | 0x7f800000u;
        }
        return sign | (u32(biased) << 23u) | (sig & 0x7fffffu);
    }
    // Subnormal: the value in units of 2^-149 is m · 2^(e + 149).
    let k = e + 149;
    if (k >= 0) {
        return sign | (m << u32(k));
    }
    return sign | shift_rn(m, u32(-k), sticky);
}

// a + b.
fn sf_add(a: u32, b: u32) -> u32 {
    let aa = a & 0x7fffffffu;
    let ba = b & 0x7fffffffu;
    if (aa > 0x7f800000u || ba > 0x7f800000u) {
        return SF_NAN;
    }
    if (aa == 0x7f800000u) {
        if (ba == 0x7f800000u && (a ^ b) >= 0x80000000u) {
            return SF_NAN;
        }
        return a;
    }
    if (ba == 0x7f800000u) {
        return b;
    }
    if (aa == 0u) {
        if (ba == 0u) {
            return a & b; // -0 only when both are -0
        }
        return b;
    }
    if (ba == 0u) {
        return a;
    }
    var big = a;
    var small = b;
    if (ba > aa) {
        big = b;
        small = a;
    }
    let mb = unpack_mag(big & 0x7fffffffu);
    let ms = unpack_mag(small & 0x7fffffffu);
    // Six guard bits: values are sig · 2^(exp - 29).
    let sb = mb.sig << 6u;
    let s0 = ms.sig << 6u;
    let d = u32(mb.exp - ms.exp);
    var ss = 0u;
    var sticky = true;
    if (d < 31u) {
        ss = s0 >> d;
        sticky = (s0 & ((1u << d) - 1u)) != 0u;
    }
    let sign = big & 0x80000000u;
    if ((a ^ b) < 0x80000000u) {
        return sf_pack(sign, sb + ss, mb.exp - 29, sticky);
    }
    // sb - (ss + f), 0 < f < 1 when sticky: (sb - ss - 1) + (1 - f).
    var diff = sb - ss;
    if (sticky) {
        diff = diff - 1u;
    }
    if (diff == 0u && !sticky) {
        return 0u; // exact cancellation gives +0
    }
    return sf_pack(sign, diff, mb.exp - 29, sticky);
}

// a - b.
fn sf_sub(a: u32, b: u32) -> u32 {
    return sf_add(a, sf_neg(b));
}

// a · b: the 48-bit product of the significands from 12-bit pieces, kept to 28 bits and a sticky bit.
fn sf_mul(a: u32, b: u32) -> u32 {
    let sign = (a ^ b) & 0x80000000u;
    let aa = a & 0x7fffffffu;
    let ba = b & 0x7fffffffu;
    if (aa > 0x7f800000u || ba > 0x7f800000u) {
        return SF_NAN;
    }
    if (aa == 0x7f800000u || ba == 0x7f800000u) {
        if (aa == 0u || ba == 0u) {
            return SF_NAN;
        }
        return sign | 0x7f800000u;
    }
    if (aa == 0u || ba == 0u) {
        return sign;
    }
    let ma = unpack_mag(aa);
    let mb = unpack_mag(ba);
    let a1 = ma.sig >> 12u;
    let a0 = ma.sig & 0xfffu;
    let b1 = mb.sig >> 12u;
    let b0 = mb.sig & 0xfffu;
    let t0 = a0 * b0;
    let t1 = a1 * b0 + a0 * b1;
    let t2 = a1 * b1;
    let low = t0 + ((t1 & 0xfffu) << 12u);
    let high = t2 + (t1 >> 12u) + (low >> 24u);
    let m = (high << 4u) | ((low & 0xffffffu) >> 20u);
    return sf_pack(sign, m, ma.exp + mb.exp - 26, (low & 0xfffffu) != 0u);
}

// Trip counts of the division's and the square root's bit loops (25 and 26). The kernel sets
// them from its parameters at the start, so that no compiler unrolls the loops at every call
// site: unrolled, the shader took minutes to compile on Mesa's GL driver.
var<private> sf_div_bits: u32 = 25u;
var<private> sf_sqrt_bits: u32 = 26u;

// a / b: 25 quotient bits by long division, the remainder as the sticky bit.
fn sf_div(a: u32, b: u32) -> u32 {
    let sign = (a ^ b) & 0x80000000u;
    let aa = a & 0x7fffffffu;
    let ba = b & 0x7fffffffu;
    if (aa > 0x7f800000u || ba > 0x7f800000u || (aa == 0u && ba == 0u) || (aa == 0x7f800000u && ba == 0x7f800000u)) {
        return SF_NAN;
    }
    if (aa == 0x7f800000u || ba == 0u) {
        return sign | 0x7f800000u;
    }
    if (aa == 0u || ba == 0x7f800000u) {
        return sign;
    }
    let ma = unpack_mag(aa);
    let mb = unpack_mag(ba);
    var n = ma.sig;
    var e = ma.exp - mb.exp;
    if (n < mb.sig) {
        n = n << 1u;
        e = e - 1;
    }
    var q = 0u;
    for (var i = 0u; i < sf_div_bits; i++) {
        q = q << 1u;
        if (n >= mb.sig) {
            n = n - mb.sig;
            q = q | 1u;
        }
        n = n << 1u;
    }
    // q has 25 bits: the quotient is q · 2^(e - 24).
    return sf_pack(sign, q, e - 24, n != 0u);
}

// √a, digit by digit: 26 root bits and the remainder as the sticky bit.
fn sf_sqrt(a: u32) -> u32 {
    if (a == 0u || a == 0x80000000u || a == 0x7f800000u) {
        return a;
    }
    if (a > 0x7f800000u) {
        return SF_NAN; // NaN or negative
    }
    let m = unpack_mag(a);
    var sig = m.sig;
    var e2 = m.exp - 23;
    if ((e2 & 1) != 0) {
        sig = sig << 1u;
        e2 = e2 - 1;
    }
    // a = sig · 2^e2 with e2 even; √a = √(sig · 2^26) · 2^((e2 - 26) / 2).
    var root = 0u;
    var rem = 0u;
    for (var j = 0u; j < sf_sqrt_bits; j++) {
        let pos = 50u - 2u * j;
        var pair = 0u;
        if (pos >= 26u) {
            pair = (sig >> (pos - 26u)) & 3u;
        }
        rem = (rem << 2u) | pair;
        let trial = (root << 2u) | 1u;
        if (rem >= trial) {
            rem = rem - trial;
            root = (root << 1u) | 1u;
        } else {
            root = root << 1u;
        }
    }
    return sf_pack(0u, root, (e2 - 26) / 2, rem != 0u);
}

// ggml's nearest_int: f + 1.5 · 2^23 rounded to f32, then its low 23 bits less 2^22.
fn sf_nearest_int(f: u32) -> i32 {
    return i32(sf_add(f, 0x4b400000u) & 0x7fffffu) - 0x400000;
}
