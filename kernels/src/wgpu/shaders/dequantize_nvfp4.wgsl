// NVFP4 dequantization, one invocation per value: e2m1 * E4M3 block scale (exact in f32) times
// the f32 tensor scale, rounded once; element 2i in the low nibble of byte i of its block.
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    let s = bitcast<f32>(load_q(0u) | (load_q(1u) << 8u) | (load_q(2u) << 16u) | (load_q(3u) << 24u));
    let base = 4u + i / 16u * 9u;
    let j = i % 16u;
    let byte = load_q(base + 1u + j / 2u);
    let code = (byte >> (4u * (j & 1u))) & 0xfu;
    let value = mf_decode(code, element(4u), 0) * e4m3_to_f32(load_q(base));
    store_out(i, value * s);
}
