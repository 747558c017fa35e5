// The mx family's quantizer. Raw FP8 E5M2 (p.tile_rows = 0): one invocation per value, nearest
// even, past 57344 to +-inf. MX (p.tile_rows = 1): one invocation per block of 32 along the row:
// the E8M0 scale byte by the declared rule p.rule (scale_byte: OCP's floor(log2 amax) - emax + 127
// by default; 0xff for a block holding NaN or inf), then the element codes of x * 2^-(scale - 127), saturating, packed low bits
// first. p.kind is the element type (minifloat.wgsl; MXINT8's emax is 0, its codes q / 64).
// GGML's MXFP4 (p.packing = 1): ggml's exponent floor(log2f amax) - 2 + 127, codes with ties to
// the smaller magnitude, element j in the low and j + 16 in the high nibble of byte j.
// `p: Params` (count = values or blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

// The largest E2M1 magnitude code whose value times 2^(e - 127) is a finite f32 (ggml compares
// f32 distances, so an infinite candidate never wins).
fn ggml_cap(e: u32) -> u32 {
    switch e {
        case 255u: { return 1u; }
        case 254u: { return 3u; }
        case 253u: { return 5u; }
        default: { return 7u; }
    }
}

// GGML's MXFP4 code of x (bits) in a block with byte e: +0 for every value nearest zero.
fn ggml_code(xb: u32, e: u32) -> u32 {
    if ((xb & 0x7fffffffu) >= 0x7f800000u) {
        return 0u;
    }
    let c = mf_round(xb, i32(e) - 127, false, element(4u), false);
    let m = min(c & 7u, ggml_cap(e));
    if (m == 0u) {
        return 0u;
    }
    return (c & 8u) | m;
}

// One block of GGML's MXFP4: amax by ggml's `amax < |x|` (NaN skipped), compared as bits.
fn ggml_block(i: u32) {
    var amax = 0u;
    for (var j = 0u; j < 32u; j++) {
        let a = bitcast<u32>(load_x(i * 32u + j)) & 0x7fffffffu;
        if (a <= 0x7f800000u && a > amax) {
            amax = a;
        }
    }
    var e = 0u;
    if (amax == 0x7f800000u) {
        e = 0xffu;
    } else if (amax != 0u) {
        e = u32(clamp(ggml_floor_log2f(amax) - 2 + 127, 0, 255));
    }
    let out = i * 17u;
    store_out(out, e);
    for (var j = 0u; j < 16u; j++) {
        let lo = ggml_code(bitcast<u32>(load_x(i * 32u + j)), e);
        let hi = ggml_code(bitcast<u32>(load_x(i * 32u + j + 16u)), e);
        store_out(out + 1u + j, lo | (hi << 4u));
    }
}

// 2^(floor(log2 amax) - emax) as an E8M0 byte within 2^-127 .. 2^127, for amax given as
// bits; a zero block gets 2^-127.
fn floor_byte(a: u32, emax: i32) -> u32 {
    if (a == 0u) {
        return 0u;
    }
    return u32(clamp(floor_log2(a) - emax, -127, 127) + 127);
}

// The E8M0 byte of a finite block's largest magnitude (bits `a`) under the declared scale rule
// p.rule (docs/formats.md): 0 OCP's floor; 1 DeepGEMM's ceil, the smallest 2^e >= amax / max
// (the quotient rounded to f32 by div_rn, exactly as IEEE), within 2^-126 .. 2^127; 2 torchao's
// even, amax rounded half up to `mbits` mantissa bits in its bits, then floor (NaN past the
// largest f32); 3 torchao's rceil, amax * f32(1 / max) (a product WGSL rounds correctly)
// rounded up to a power of two, a subnormal from 2^-127 up, NaN past 2^127.
fn scale_byte(a: u32, emax: i32, mbits: u32, max: f32) -> u32 {
    switch p.rule {
        case 1u: {
            if (a == 0u) {
                return 1u;
            }
            let q = bitcast<u32>(div_rn(bitcast<f32>(a), max));
            return clamp(((q >> 23u) & 0xffu) + select(0u, 1u, (q & 0x7fffffu) != 0u), 1u, 254u);
        }
        case 2u: {
            let rounded = (a + (1u << (22u - mbits))) & 0x7f800000u;
            if (rounded == 0x7f800000u) {
                return 0xffu;
            }
            return floor_byte(rounded, emax);
        }
        case 3u: {
            let q = bitcast<u32>(bitcast<f32>(a) * div_rn(1.0, max));
            let field = (q >> 23u) & 0xffu;
            let mantissa = q & 0x7fffffu;
            var up = mantissa != 0u;
            if (field == 0u) {
                up = mantissa > 0x400000u;
            }
            return min(field + select(0u, 1u, up), 255u);
        }
        default: {
            return floor_byte(a, emax);
        }
    }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    if (p.packing == 1u) {
        ggml_block(i);
        return;
    }
    let t = element(p.kind);
    if (p.tile_rows == 0u) {
        store_out(i, mf_encode(bitcast<u32>(load_x(i)), 0, true, t));
        return;
    }
    let int8 = p.kind == MXINT8;
    var bits = elem_bits(t);
    var emax = elem_emax(t);
    if (int8) {
        bits = 8u;
        emax = 0; // MXINT8's largest element is 127/64
    }
    let out = i * (1u + 4u * bits);
    var amax = 0.0;
    var finite = true;
    for (var j = 0u; j < 32u; j++) {
        let a = bitcast<u32>(load_x(i * 32u + j)) & 0x7fffffffu;
        if (a >= 0x7f800000u) {
            finite = false;
        } else if (bitcast<f32>(a) > amax) {
            amax = bitcast<f32>(a);
        }
    }
    var scale = 0xffu;
    if (finite) {
        // The largest element, from its bits: MXINT8's 127/64, else the type's max code.
        var max_bits = (127u << 23u) | (63u << 17u);
        var mbits = 6u;
        if (!int8) {
            mbits = t.man_bits;
            let fraction = t.max_code & ((1u << t.man_bits) - 1u);
            max_bits = (u32(emax + 127) << 23u) | (fraction << (23u - t.man_bits));
        }
        scale = scale_byte(bitcast<u32>(amax), emax, mbits, bitcast<f32>(max_bits));
    }
    store_out(out, scale);
    var acc = 0u;
    var held = 0u;
    var at = out + 1u;
    for (var j = 0u; j < 32u; j++) {
        var code = 0u;
        let xb = bitcast<u32>(load_x(i * 32u + j));
        if (finite && int8) {
            code = mxint8_encode(xb, i32(scale) - 127);
        } else if (finite) {
            code = mf_encode(xb, i32(scale) - 127, false, t);
        }
        acc = acc | (code << held);
        held = held + bits;
        if (held >= 8u) {
            store_out(at, acc & 0xffu);
            at = at + 1u;
            acc = acc >> 8u;
            held = held - 8u;
        }
    }
}
