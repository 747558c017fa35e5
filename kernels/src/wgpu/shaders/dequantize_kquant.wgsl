// K-quant dequantization (Q4_K, Q5_K, Q6_K by p.kind), one invocation per value (kquant.wgsl).
// `p: Params` (count = values), `load_q` (bytes), `store_out` (f32) and the helpers are generated.

fn kq_byte(i: u32) -> u32 {
    return load_q(i);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) {
        return;
    }
    store_out(i, kq_value(p.kind, i / 256u * kq_block_bytes(p.kind), i % 256u));
}
