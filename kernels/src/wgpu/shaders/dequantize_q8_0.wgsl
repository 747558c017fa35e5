// Q8_0 dequantization, one invocation per value: d · q with d the block's f16 scale.
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    let base = i / 32u * 34u;
    let d = f16_to_f32(load_q(base) | (load_q(base + 1u) << 8u));
    store_out(i, d * f32(sext8(load_q(base + 2u + i % 32u))));
}
