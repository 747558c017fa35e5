// The mx family's quantizer. Raw FP8 E5M2 (p.tile_rows = 0): one invocation per value, nearest
// even, past 57344 to +-inf. MX (p.tile_rows = 1): one invocation per block of 32 along the row:
// the E8M0 scale byte floor(log2 amax) - emax + 127 (0xff for a block holding NaN or inf, 0 for
// a zero block), then the element codes of x * 2^-(scale - 127), saturating, packed low bits
// first. p.kind is the element type (minifloat.wgsl).
// `p: Params` (count = values or blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    let t = element(p.kind);
    if (p.tile_rows == 0u) {
        store_out(i, mf_encode(bitcast<u32>(load_x(i)), 0, true, t));
        return;
    }
    let bits = elem_bits(t);
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
    var scale = 0u;
    if (!finite) {
        scale = 0xffu;
    } else if (amax != 0.0) {
        let exponent = floor_log2(bitcast<u32>(amax)) - elem_emax(t);
        scale = u32(clamp(exponent, -127, 127) + 127);
    }
    store_out(out, scale);
    var acc = 0u;
    var held = 0u;
    var at = out + 1u;
    for (var j = 0u; j < 32u; j++) {
        var code = 0u;
        if (finite) {
            code = mf_encode(bitcast<u32>(load_x(i * 32u + j)), i32(scale) - 127, false, t);
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
