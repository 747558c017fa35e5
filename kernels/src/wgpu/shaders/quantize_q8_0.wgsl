// Q8_0 quantization, one invocation per block of 32: d = amax / 127, id = 1 / d (0 when d is
// 0 or 1/d overflows), q = roundf(x · id) with ties away from zero, within ±127, d stored as
// f16 (nearest even). Divisions are exact (div_rn) and each product is rounded once, so the
// bytes equal GGML's reference.
// `p: Params` (count = blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let block = gid.x;
    if (block >= p.count) {
        return;
    }
    let first = block * 32u;
    var amax = 0.0;
    for (var j = 0u; j < 32u; j++) {
        let v = abs(load_x(first + j));
        if (v > amax) {
            amax = v;
        }
    }
    let d = div_rn(amax, 127.0);
    var id = 0.0;
    if (d != 0.0) {
        id = div_rn(1.0, d);
    }
    // When 1/d overflows (d below about 2^-128, stored as f16 zero) the block is coded as a
    // zero block, as the reference defines it (GGML's C is undefined there).
    if ((bitcast<u32>(id) & 0x7fffffffu) == 0x7f800000u) {
        id = 0.0;
    }
    let out = block * 34u;
    let d_bits = f32_to_f16_rne(d);
    store_out(out, d_bits & 0xffu);
    store_out(out + 1u, d_bits >> 8u);
    for (var j = 0u; j < 32u; j++) {
        let q = clamp(round_away_bits(bitcast<u32>(load_x(first + j) * id)), -127, 127);
        store_out(out + 2u + j, u32(q) & 0xffu);
    }
}
