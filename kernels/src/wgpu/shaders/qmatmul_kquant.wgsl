// K-quant weights x f32 activations, one invocation per output: each weight as ggml's
// dequantizer computes it in f32 (kquant.wgsl), times the activation, summed in f32 in order.
// `p: Params`, `load_a` (f32), `load_w` (bytes), `store_c` (f32) and the helpers are generated.

fn kq_byte(i: u32) -> u32 {
    return load_w(i);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let block = kq_block_bytes(p.w_kind);
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        let w = kq_value(p.w_kind, (col * p.blocks + kk / 256u) * block, kk % 256u);
        acc = acc + load_a(row * p.k + kk) * w;
    }
    store_c(row * p.n + col, acc);
}
