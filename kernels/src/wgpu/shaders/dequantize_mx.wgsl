// The mx family's dequantizer, one invocation per value. Raw FP8 E5M2 (p.tile_rows = 0): the
// code's value (inf and NaN included). MX (p.tile_rows = 1): element * 2^(scale - 127), the exact
// value rounded once to f32 (NaN for the scale byte 0xff). p.kind is the element type (MXINT8:
// q / 64). GGML's MXFP4 (p.packing = 1): element j of a block in the low nibble of byte j % 16
// (j < 16) or its high nibble, E2M1 * 2^(e - 127) for every e (0xff is 2^128), both zeros +0.
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

fn ggml_value(i: u32) -> f32 {
    let base = i / 32u * 17u;
    let j = i % 32u;
    let byte = load_q(base + 1u + j % 16u);
    var code = byte & 0xfu;
    if (j >= 16u) {
        code = byte >> 4u;
    }
    if ((code & 7u) == 0u) {
        return 0.0;
    }
    return mf_decode(code, element(4u), i32(load_q(base)) - 127);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    if (p.packing == 1u) {
        store_out(i, ggml_value(i));
        return;
    }
    let t = element(p.kind);
    if (p.tile_rows == 0u) {
        store_out(i, mf_decode(load_q(i), t, 0));
        return;
    }
    var bits = elem_bits(t);
    if (p.kind == MXINT8) {
        bits = 8u;
    }
    let base = i / 32u * (1u + 4u * bits);
    let j = i % 32u;
    let scale = load_q(base);
    if (scale == 0xffu) {
        store_out(i, bitcast<f32>(0x7fc00000u));
        return;
    }
    if (p.kind == MXINT8) {
        store_out(i, mxint8_decode(load_q(base + 1u + j), i32(scale) - 127));
        return;
    }
    let byte = base + 1u + j * bits / 8u;
    var hi = 0u;
    if ((j * bits) % 8u + bits > 8u) {
        hi = load_q(byte + 1u);
    }
    let code = code_bits(load_q(byte), hi, j, bits);
    store_out(i, mf_decode(code, t, i32(scale) - 127));
}
