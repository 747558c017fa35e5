// FP8 E4M3 quantization. Unscaled (p.tile_rows = 0): one invocation per value, nearest even,
// saturating at ±448. Scaled (p.tile_rows = 1 for 1×128 tiles, 128 for 128×128 blocks): one
// workgroup of 64 per tile, amax reduced in workgroup memory; all scales (tile-major) precede
// all codes. f32 scales (p.packing = 0): scale = amax / 448, codes E4M3(x / scale), 0 when the
// scale is 0. UE8M0 scales (p.packing = 1, DeepGEMM's use_ue8m0): sf = max(amax, 1e-4) / 448
// rounded up to a power of two 2^(b - 127), the byte b stored, codes E4M3(x * 2^-(b - 127))
// rounded from x's bits with the exponent shifted (exact, as x * (1 / sf) is before rounding).
// `p: Params` (count = values or tiles), `load_x`, `store_out` (bytes) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    if (p.tile_rows == 0u) {
        let i = wg.x * 64u + li;
        if (i < p.count) {
            store_out(i, f32_to_e4m3(load_x(i)));
        }
        return;
    }
    let tile = wg.x;
    let tiles_per_row = (p.cols + 127u) / 128u;
    let row0 = tile / tiles_per_row * p.tile_rows;
    let col0 = tile % tiles_per_row * 128u;
    let rows = min(p.tile_rows, p.rows - row0);
    let cols = min(128u, p.cols - col0);
    var mine = 0.0;
    for (var e = li; e < rows * cols; e += 64u) {
        let v = abs(load_x((row0 + e / cols) * p.cols + col0 + e % cols));
        if (v > mine) {
            mine = v;
        }
    }
    let amax = workgroup_max(li, mine);
    if (p.packing == 1u) {
        let byte = ceil_to_ue8m0(div_rn(max(amax, 1e-4), 448.0));
        if (li == 0u) {
            store_out(tile, byte);
        }
        for (var e = li; e < rows * cols; e += 64u) {
            let at = (row0 + e / cols) * p.cols + col0 + e % cols;
            store_out(p.count + at, mf_encode(bitcast<u32>(load_x(at)), i32(byte) - 127, false, element(0u)));
        }
        return;
    }
    let scale = div_rn(amax, 448.0);
    if (li < 4u) {
        store_out(4u * tile + li, (bitcast<u32>(scale) >> (8u * li)) & 0xffu);
    }
    let codes = 4u * p.count;
    for (var e = li; e < rows * cols; e += 64u) {
        let at = (row0 + e / cols) * p.cols + col0 + e % cols;
        var code = 0u;
        if (scale != 0.0) {
            code = f32_to_e4m3(div_rn(load_x(at), scale));
        }
        store_out(codes + at, code);
    }
}
