// Weight-only antiquant (W8A16 when p.w_kind is 0, W4A16 when 1), one invocation per output:
// each weight dequantized in f32 as (q + offset) * scale with its group's f16 scale and offset
// (Ascend WeightQuantBatchMatmul's order), then an f32 dot with the f32 activations in order.
// The (scale, offset) pairs come first, one per group of p.k / p.blocks values, then the codes.
// `p: Params`, `load_a` (f32), `load_w` (bytes), `store_c` (f32) and the helpers are generated.

fn w_half(at: u32) -> f32 {
    return f16_to_f32(load_w(at) | (load_w(at + 1u) << 8u));
}

fn w_code(i: u32, codes: u32) -> f32 {
    if (p.w_kind == 0u) {
        return f32(sext8(load_w(codes + i)));
    }
    let nibble = (load_w(codes + i / 2u) >> (4u * (i % 2u))) & 0xfu;
    return f32(sext8(nibble << 4u) >> 4u);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let group = p.k / p.blocks;
    let codes = 4u * p.n * p.blocks;
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        let i = col * p.k + kk;
        let g = 4u * (i / group);
        let weight = (w_code(i, codes) + w_half(g + 2u)) * w_half(g);
        acc = acc + load_a(row * p.k + kk) * weight;
    }
    store_c(row * p.n + col, acc);
}
