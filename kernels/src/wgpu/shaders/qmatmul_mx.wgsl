// MX weights x activations, one invocation per output: per block of 32 along k, the f32 dot of
// the activations and the weight elements, times the blocks' power-of-two scales, summed in f32.
// p.w_kind / p.a_kind are element types (minifloat.wgsl; 6 = MXINT8's q / 64) of MX blocks (the
// activations' of MXFP8 and MXINT8 weights); a_kind 5 is f32 activations, 9 bf16 ones (the bf16
// variant, C stored in bf16), and 8 FP8 E4M3 with an f32 scale per 1x128 tile (W4A8 over MXFP4
// weights, as DeepGEMM's FP8 x FP4 GEMM). p.w_layout 1 is GGML's MXFP4 (17-byte blocks, element
// j in the low nibble of byte j % 16 for j < 16, else the high nibble; the byte 0xff is 2^128).
// `p: Params`, `load_a` and `load_w` (bytes), `store_c` (the variant's precision) and the helpers
// are generated.

// f32 activation i, read as the word it is stored in (A is bound as bytes, `a_buf: array<u32>`).
fn load_a_f32(i: u32) -> f32 {
    return bitcast<f32>(a_buf[i]);
}

// bf16 activation i: the half of word i / 2 it is stored in (element 2j in the low half), as the
// top of an f32.
fn load_a_bf16(i: u32) -> f32 {
    let w = a_buf[i >> 1u];
    return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}

// f32 scale at byte `at` of A.
fn a_f32_at(at: u32) -> f32 {
    return bitcast<f32>(load_a(at) | (load_a(at + 1u) << 8u) | (load_a(at + 2u) << 16u) | (load_a(at + 3u) << 24u));
}

// W4A8: the dot of 32 E4M3 activations from byte `a` of A's codes with the MXFP4 block at byte
// `w` of W, two E2M1 elements a byte (element 2i in the low nibble of byte i).
fn fp8_fp4_dot(a: u32, w: u32) -> f32 {
    let e2m1 = element(4u);
    var dot = 0.0;
    for (var i = 0u; i < 16u; i++) {
        let byte = load_w(w + 1u + i);
        dot = dot + e4m3_to_f32(load_a(a + 2u * i)) * mf_decode(byte & 0xfu, e2m1, 0);
        dot = dot + e4m3_to_f32(load_a(a + 2u * i + 1u)) * mf_decode(byte >> 4u, e2m1, 0);
    }
    return dot;
}

// Element j of the block at byte `base` of W.
fn w_element(base: u32, j: u32, t: Elem) -> f32 {
    if (p.w_kind == MXINT8) {
        return mxint8_decode(load_w(base + 1u + j), 0);
    }
    if (p.w_layout == 1u) {
        let byte = load_w(base + 1u + j % 16u);
        var code = byte & 0xfu;
        if (j >= 16u) {
            code = byte >> 4u;
        }
        return mf_decode(code, t, 0);
    }
    let bits = elem_bits(t);
    let byte = base + 1u + j * bits / 8u;
    var hi = 0u;
    if ((j * bits) % 8u + bits > 8u) {
        hi = load_w(byte + 1u);
    }
    return mf_decode(code_bits(load_w(byte), hi, j, bits), t, 0);
}

// Element j of the MXFP8 or MXINT8 activation block at byte `base` of A (a byte each).
fn a_element(base: u32, j: u32) -> f32 {
    if (p.a_kind == MXINT8) {
        return mxint8_decode(load_a(base + 1u + j), 0);
    }
    return mf_decode(load_a(base + 1u + j), element(p.a_kind), 0);
}

// 2^(byte - 127) as a product of two normal f32 powers of two.
fn scale_pair(byte: u32) -> vec2<f32> {
    let e = i32(byte) - 127;
    let half = e / 2;
    return vec2<f32>(bitcast<f32>(u32(e - half + 127) << 23u), bitcast<f32>(u32(half + 127) << 23u));
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let tw = element(p.w_kind);
    var w_block = 1u + 4u * elem_bits(tw);
    if (p.w_kind == MXINT8) {
        w_block = 33u;
    }
    var acc = 0.0;
    for (var b = 0u; b < p.blocks; b++) {
        let w = (col * p.blocks + b) * w_block;
        var dot = 0.0;
        var a_scale = vec2<f32>(1.0, 1.0);
        if (p.a_kind < 5u || p.a_kind == MXINT8) {
            // MXFP8 or MXINT8 activations: 33 bytes per block, elements one a byte.
            let a = (row * p.blocks + b) * 33u;
            a_scale = scale_pair(load_a(a));
            for (var j = 0u; j < 32u; j++) {
                dot = dot + a_element(a, j) * w_element(w, j, tw);
            }
        } else if (p.a_kind == 8u) {
            // FP8 activations: all the 1x128 tile scales (m x ceil(k / 128) f32), then the
            // codes; the block's 32 values lie in tile b * 32 / 128 of the row.
            let tiles = (p.k + 127u) / 128u;
            let codes = 4u * p.m * tiles;
            a_scale = vec2<f32>(a_f32_at(4u * (row * tiles + (b * 32u) / 128u)), 1.0);
            dot = fp8_fp4_dot(codes + row * p.k + b * 32u, w);
        } else if (p.a_kind == 9u) {
            for (var j = 0u; j < 32u; j++) {
                dot = dot + load_a_bf16(row * p.k + b * 32u + j) * w_element(w, j, tw);
            }
        } else {
            for (var j = 0u; j < 32u; j++) {
                dot = dot + load_a_f32(row * p.k + b * 32u + j) * w_element(w, j, tw);
            }
        }
        let w_scale = scale_pair(load_w(w));
        acc = acc + dot * w_scale.x * w_scale.y * a_scale.x * a_scale.y;
    }
    store_c(row * p.n + col, acc);
}
