// Int8 dequantization, one invocation per value: q · the row's f32 scale.
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
    let base = i / p.cols * (4u + p.cols);
    store_out(i, f32(sext8(load_q(base + 4u + i % p.cols))) * scale_at(base));
}
