// The mx family's dequantizer, one invocation per value. Raw FP8 E5M2 (p.tile_rows = 0): the
// code's value (inf and NaN included). MX (p.tile_rows = 1): element * 2^(scale - 127), the exact
// value rounded once to f32 (NaN for the scale byte 0xff). p.kind is the element type.
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    let t = element(p.kind);
    if (p.tile_rows == 0u) {
        store_out(i, mf_decode(load_q(i), t, 0));
        return;
    }
    let bits = elem_bits(t);
    let base = i / 32u * (1u + 4u * bits);
    let j = i % 32u;
    let scale = load_q(base);
    if (scale == 0xffu) {
        store_out(i, bitcast<f32>(0x7fc00000u));
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
