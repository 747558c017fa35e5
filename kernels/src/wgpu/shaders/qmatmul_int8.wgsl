// Int8 x int8 (W8A8), one invocation per output: products summed exactly in i32, then scaled
// by the token's and the channel's f32 scales.
// `p: Params`, `load_a` and `load_w` (bytes), `store_c` (f32) and the helpers are generated.

fn a_scale(at: u32) -> f32 {
    return bitcast<f32>(load_a(at) | (load_a(at + 1u) << 8u) | (load_a(at + 2u) << 16u) | (load_a(at + 3u) << 24u));
}

fn w_scale(at: u32) -> f32 {
    return bitcast<f32>(load_w(at) | (load_w(at + 1u) << 8u) | (load_w(at + 2u) << 16u) | (load_w(at + 3u) << 24u));
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let a = row * (4u + p.k);
    let w = col * (4u + p.k);
    var acc = 0i;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = acc + sext8(load_a(a + 4u + kk)) * sext8(load_w(w + 4u + kk));
    }
    store_c(row * p.n + col, f32(acc) * a_scale(a) * w_scale(w));
}
