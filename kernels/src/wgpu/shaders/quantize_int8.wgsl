// Int8 quantization, one workgroup of 64 per row: scale = amax / 127 (row maximum reduced in
// workgroup memory), codes q = roundf(x / scale) (ties away from zero), clamped to ±127, 0 when
// the scale is 0. Each row is written as its f32 scale (little-endian) then its codes.
// `p: Params` (count = rows), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x;
    let first = row * p.cols;
    var mine = 0.0;
    for (var c = li; c < p.cols; c += 64u) {
        let v = abs(load_x(first + c));
        if (v > mine) {
            mine = v;
        }
    }
    let scale = div_rn(workgroup_max(li, mine), 127.0);
    let out = row * (4u + p.cols);
    if (li < 4u) {
        store_out(out + li, (bitcast<u32>(scale) >> (8u * li)) & 0xffu);
    }
    for (var c = li; c < p.cols; c += 64u) {
        var q = 0;
        if (scale != 0.0) {
            q = clamp(round_away_bits(bitcast<u32>(div_rn(load_x(first + c), scale))), -127, 127);
        }
        store_out(out + 4u + c, u32(q) & 0xffu);
    }
}
