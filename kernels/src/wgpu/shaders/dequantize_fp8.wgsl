// FP8 E4M3 dequantization, one invocation per value: E4M3(code), times its tile's scale for the
// scaled layouts (p.tile_rows = 1 or 128; scales precede the codes): an f32 (p.packing = 0), or
// a UE8M0 byte b (p.packing = 1), the value E4M3 * 2^(b - 127) built exactly and rounded once
// (NaN for b = 0xff).
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

fn scale_at(at: u32) -> f32 {
    return bitcast<f32>(load_q(at) | (load_q(at + 1u) << 8u) | (load_q(at + 2u) << 16u) | (load_q(at + 3u) << 24u));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    if (p.tile_rows == 0u) {
        store_out(i, e4m3_to_f32(load_q(i)));
        return;
    }
    let tiles_per_row = (p.cols + 127u) / 128u;
    let tiles = (p.rows + p.tile_rows - 1u) / p.tile_rows * tiles_per_row;
    let tile = i / p.cols / p.tile_rows * tiles_per_row + i % p.cols / 128u;
    if (p.packing == 1u) {
        let byte = load_q(tile);
        if (byte == 0xffu) {
            store_out(i, bitcast<f32>(0x7fc00000u));
            return;
        }
        store_out(i, mf_decode(load_q(tiles + i), element(0u), i32(byte) - 127));
        return;
    }
    store_out(i, e4m3_to_f32(load_q(4u * tiles + i)) * scale_at(4u * tile));
}
