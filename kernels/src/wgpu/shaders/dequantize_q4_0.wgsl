// Q4_0 dequantization, one invocation per value: d · (q - 8), element j of a block in the low
// nibble of byte j, element j + 16 in its high nibble.
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    let base = i / 32u * 18u;
    let j = i % 32u;
    let d = f16_to_f32(load_q(base) | (load_q(base + 1u) << 8u));
    let byte = load_q(base + 2u + j % 16u);
    let nibble = select(byte >> 4u, byte & 0xfu, j < 16u);
    store_out(i, d * f32(i32(nibble) - 8));
}
