// The OCP minifloat element types by integer operations on f32 bits (needs quant_common.wgsl):
// kind 0 = E4M3, 1 = E5M2, 2 = E2M3, 3 = E3M2, 4 = E2M1 (kind 6, MXINT8, is no minifloat: the
// mx kernels handle it with the mxint8_* functions below). Encoding applies a power-of-two scale
// on the way (exactly, on the exponent) and rounds to nearest even; decoding builds the exact
// value times a power of two and rounds it once to f32, so no subnormal product is needed.

struct Elem {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    max_code: u32,
    // Code of +inf and of the NaN written for NaN inputs; 0 when the type has none.
    inf_code: u32,
    nan_code: u32,
}

fn element(kind: u32) -> Elem {
    switch kind {
        case 0u: { return Elem(4u, 3u, 7, 0x7eu, 0u, 0x7fu); }
        case 1u: { return Elem(5u, 2u, 15, 0x7bu, 0x7cu, 0x7eu); }
        case 2u: { return Elem(2u, 3u, 1, 0x1fu, 0u, 0u); }
        case 3u: { return Elem(3u, 2u, 3, 0x1fu, 0u, 0u); }
        default: { return Elem(2u, 1u, 1, 0x7u, 0u, 0u); }
    }
}

// Bits of a code, sign included.
fn elem_bits(t: Elem) -> u32 {
    return 1u + t.exp_bits + t.man_bits;
}

// Exponent of the largest finite value (the MX specification's emax).
fn elem_emax(t: Elem) -> i32 {
    return i32(t.max_code >> t.man_bits) - t.bias;
}

// floor(log2 |x|) of a finite non-zero f32 given as bits.
fn floor_log2(xb: u32) -> i32 {
    return unpack_mag(xb & 0x7fffffffu).exp;
}

// The code of x * 2^-shift (x given as bits), nearest even; past the largest finite value +-inf
// when `to_inf` and the type has inf, else the largest finite value; NaN -> the type's NaN or 0.
fn mf_encode(xb: u32, shift: i32, to_inf: bool, t: Elem) -> u32 {
    return mf_round(xb, shift, to_inf, t, true);
}

// mf_encode with the tie rule chosen: to even (`ties_even`) or to the smaller magnitude (GGML's
// MXFP4, whose search keeps the first of two equally near values).
fn mf_round(xb: u32, shift: i32, to_inf: bool, t: Elem, ties_even: bool) -> u32 {
    let sign = select(0u, 1u << (t.exp_bits + t.man_bits), (xb >> 31u) == 1u);
    let a = xb & 0x7fffffffu;
    var over = sign | t.max_code;
    if (to_inf && t.inf_code != 0u) {
        over = sign | t.inf_code;
    }
    if (a > 0x7f800000u) {
        return select(0u, sign | t.nan_code, t.nan_code != 0u);
    }
    if (a == 0x7f800000u) {
        return over;
    }
    if (a == 0u) {
        return sign;
    }
    let mag = unpack_mag(a);
    let e = mag.exp - shift;
    let min_exp = 1 - t.bias;
    let m = i32(t.man_bits);
    // n = |x| * 2^-shift / 2^(max(e, min_exp) - m), rounded to nearest even.
    let right = u32(23 - m + max(min_exp - e, 0));
    var n = 0u;
    if (right < 32u) {
        let kept = mag.sig >> right;
        let rest = mag.sig & ((1u << right) - 1u);
        let half = 1u << (right - 1u);
        n = kept;
        if (rest > half || (rest == half && ties_even && (kept & 1u) == 1u)) {
            n = kept + 1u;
        }
    }
    var code = i32(n);
    if (e >= min_exp) {
        code = ((e + t.bias) << u32(m)) + i32(n) - (1 << u32(m));
    }
    if (code > i32(t.max_code)) {
        return over;
    }
    return sign | u32(code);
}

// n * 2^k with the given sign bit, rounded once to f32 (nearest even; subnormal or infinite
// as the value demands). n < 2^24.
fn scaled_value(sign: u32, n: u32, k: i32) -> f32 {
    if (n == 0u) {
        return bitcast<f32>(sign);
    }
    let top = 31u - countLeadingZeros(n);
    return pack_rn(sign, n << (24u - top), k + i32(top), false);
}

// The value of a code times 2^scale_exp, rounded once to f32; NaN and +-inf where the type has them.
fn mf_decode(code: u32, t: Elem, scale_exp: i32) -> f32 {
    let sign_bit = 1u << (t.exp_bits + t.man_bits);
    let sign = select(0u, 0x80000000u, (code & sign_bit) != 0u);
    let magnitude = code & (sign_bit - 1u);
    if (t.inf_code != 0u && magnitude == t.inf_code) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (magnitude > t.max_code) {
        return bitcast<f32>(sign | 0x7fc00000u);
    }
    let field = magnitude >> t.man_bits;
    let mantissa = magnitude & ((1u << t.man_bits) - 1u);
    let m = i32(t.man_bits);
    if (field == 0u) {
        return scaled_value(sign, mantissa, 1 - t.bias - m + scale_exp);
    }
    return scaled_value(sign, mantissa | (1u << t.man_bits), i32(field) - t.bias - m + scale_exp);
}

// Code j (of `bits` bits) of a little-endian bit stream whose bytes at j*bits/8 are lo and hi.
fn code_bits(lo: u32, hi: u32, j: u32, bits: u32) -> u32 {
    return ((lo | (hi << 8u)) >> ((j * bits) % 8u)) & ((1u << bits) - 1u);
}

// MXINT8's element kind (quant.rs `element_kind`).
const MXINT8: u32 = 6u;

// MXINT8: the code of x * 2^-shift (x given as bits, finite), i.e. x * 2^(6 - shift) rounded to
// the nearest integer, ties to even, within +-127, as a two's-complement byte.
fn mxint8_encode(xb: u32, shift: i32) -> u32 {
    let a = xb & 0x7fffffffu;
    if (a == 0u) {
        return 0u;
    }
    let mag = unpack_mag(a);
    // |x| * 2^(6 - shift) = sig * 2^(exp - 23 + 6 - shift).
    let right = 17 + shift - mag.exp;
    var q = 127u;
    if (right > 0) {
        q = min(shift_rn(mag.sig, u32(right), false), 127u);
    }
    if ((xb >> 31u) == 1u) {
        return (256u - q) & 0xffu;
    }
    return q;
}

// MXINT8: the value of a code (q / 64) times 2^scale_exp, rounded once to f32.
fn mxint8_decode(code: u32, scale_exp: i32) -> f32 {
    let q = sext8(code);
    return scaled_value(select(0u, 0x80000000u, q < 0), u32(abs(q)), scale_exp - 6);
}

// floor(log2f(a)) of a finite positive f32 given as bits, log2f rounded to f32 as GGML's MXFP4
// takes it: the largest significands of a binade round up to the next integer n; how many is
// floor(2^j * ln 2), 2^(j - 23) being the f32 step just below n (j = floor(log2(n - 1)) for
// n >= 2, floor(log2 |n|) for n <= -1; none for n = 0, 1).
fn ggml_floor_log2f(ab: u32) -> i32 {
    let mag = unpack_mag(ab & 0x7fffffffu);
    let n = mag.exp + 1;
    var j = -1;
    if (n >= 2) {
        j = i32(firstLeadingBit(u32(n - 1)));
    } else if (n <= -1) {
        j = i32(firstLeadingBit(u32(-n)));
    }
    if (j < 0) {
        return mag.exp;
    }
    var rounding_up = array<u32, 8>(0u, 1u, 2u, 5u, 11u, 22u, 44u, 88u);
    if (mag.sig >= 0x1000000u - rounding_up[j]) {
        return n;
    }
    return mag.exp;
}
