// Q4_0 quantization, one invocation per block of 32: m = the element of largest magnitude with
// its sign (first on ties), d = m / -8, id = 1 / d (0 when d is 0 or 1/d overflows),
// q = min(15, trunc(x · id + 8.5)) with the sum rounded to f32 first; byte j holds element j
// (low nibble) and j + 16 (high).
// `p: Params` (count = blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let block = gid.x;
    if (block >= p.count) {
        return;
    }
    let first = block * 32u;
    var amax = 0.0;
    var signed_max = 0.0;
    for (var j = 0u; j < 32u; j++) {
        let v = load_x(first + j);
        if (amax < abs(v)) {
            amax = abs(v);
            signed_max = v;
        }
    }
    let d = div_rn(signed_max, -8.0);
    var id = 0.0;
    if (d != 0.0) {
        id = div_rn(1.0, d);
    }
    // When 1/d overflows (d below about 2^-128, stored as f16 zero) the block is coded as a
    // zero block, as the reference defines it (GGML's C is undefined there).
    if ((bitcast<u32>(id) & 0x7fffffffu) == 0x7f800000u) {
        id = 0.0;
    }
    let out = block * 18u;
    let d_bits = f32_to_f16_rne(d);
    store_out(out, d_bits & 0xffu);
    store_out(out + 1u, d_bits >> 8u);
    for (var j = 0u; j < 16u; j++) {
        let low = q4_code(bitcast<u32>(load_x(first + j) * id));
        let high = q4_code(bitcast<u32>(load_x(first + j + 16u) * id));
        store_out(out + 2u + j, low | (high << 4u));
    }
}
