// NVFP4 quantization of the whole tensor by one workgroup of 64: the tensor amax (reduced in
// workgroup memory), s = amax / 2688 and 1 / s (exact divisions), then per block of 16 (blocks
// shared out over the invocations) the E4M3 scale E4M3(clamp((block amax / 6) / s, 2^-6, 448))
// and E2M1 codes of clamp(x * ((1 / s) / scale), -6, 6), element 2i in the low nibble of byte i.
// A tensor holding NaN or inf gets NaN block scales and zero codes; one whose 1 / s overflows
// (all zero, or tiny) gets block scales 2^-6 and zero codes.
// `p: Params` (count = values), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_index) li: u32) {
    var mine = 0.0;
    var nan = 0.0;
    var inf = 0.0;
    for (var i = li; i < p.count; i += 64u) {
        let a = bitcast<u32>(load_x(i)) & 0x7fffffffu;
        if (a > 0x7f800000u) {
            nan = 1.0;
        } else if (a == 0x7f800000u) {
            inf = 1.0;
        } else if (bitcast<f32>(a) > mine) {
            mine = bitcast<f32>(a);
        }
    }
    let amax = workgroup_max(li, mine);
    let any_nan = workgroup_max(li, nan) > 0.0;
    let any_inf = workgroup_max(li, inf) > 0.0;
    var s = div_rn(amax, 2688.0);
    if (any_nan) {
        s = bitcast<f32>(0x7fc00000u);
    } else if (any_inf) {
        s = bitcast<f32>(0x7f800000u);
    }
    if (li < 4u) {
        store_out(li, (bitcast<u32>(s) >> (8u * li)) & 0xffu);
    }
    let inv = div_rn(1.0, s);
    let e2m1 = element(4u);
    let blocks = p.count / 16u;
    for (var b = li; b < blocks; b += 64u) {
        let out = 4u + b * 9u;
        if (any_nan || any_inf || (bitcast<u32>(inv) & 0x7fffffffu) >= 0x7f800000u) {
            store_out(out, select(0x08u, 0x7fu, any_nan || any_inf));
            for (var j = 0u; j < 8u; j++) {
                store_out(out + 1u + j, 0u);
            }
            continue;
        }
        var block_amax = 0.0;
        for (var j = 0u; j < 16u; j++) {
            block_amax = max(block_amax, abs(load_x(b * 16u + j)));
        }
        let wanted = div_rn(div_rn(block_amax, 6.0), s);
        let scale = f32_to_e4m3(clamp(wanted, 0.015625, 448.0));
        let reciprocal = div_rn(inv, e4m3_to_f32(scale));
        store_out(out, scale);
        for (var j = 0u; j < 8u; j++) {
            let lo = mf_encode(bitcast<u32>(clamp(load_x(b * 16u + 2u * j) * reciprocal, -6.0, 6.0)), 0, false, e2m1);
            let hi = mf_encode(bitcast<u32>(clamp(load_x(b * 16u + 2u * j + 1u) * reciprocal, -6.0, 6.0)), 0, false, e2m1);
            store_out(out + 1u + j, lo | (hi << 4u));
        }
    }
}
