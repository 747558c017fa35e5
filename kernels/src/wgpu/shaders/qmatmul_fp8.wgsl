// FP8 x FP8 with DeepSeek-style block scales, one invocation per output: for each 128-block of k
// (the last may be short), the f32 sum of E4M3 products times the token tile's scale and the
// weight block's scale, summed in f32. Scales precede codes in both operands: f32 scales
// (p.w_layout = 0), or UE8M0 bytes in both (p.w_layout = 1, DeepGEMM's UE8M0 path).
// `p: Params` (blocks = 128-blocks along k), `load_a` and `load_w` (bytes), `store_c` (f32) and
// the helpers are generated.

fn a_scale(at: u32) -> f32 {
    if (p.w_layout == 1u) {
        return ue8m0_value(load_a(at));
    }
    return bitcast<f32>(load_a(at) | (load_a(at + 1u) << 8u) | (load_a(at + 2u) << 16u) | (load_a(at + 3u) << 24u));
}

fn w_scale(at: u32) -> f32 {
    if (p.w_layout == 1u) {
        return ue8m0_value(load_w(at));
    }
    return bitcast<f32>(load_w(at) | (load_w(at + 1u) << 8u) | (load_w(at + 2u) << 16u) | (load_w(at + 3u) << 24u));
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    // Bytes of one scale: 4 (f32) or 1 (UE8M0).
    let width = select(4u, 1u, p.w_layout == 1u);
    let a_codes = width * p.m * p.blocks;
    let w_codes = width * ((p.n + 127u) / 128u) * p.blocks;
    var acc = 0.0;
    for (var b = 0u; b < p.blocks; b++) {
        var dot = 0.0;
        for (var kk = b * 128u; kk < min((b + 1u) * 128u, p.k); kk++) {
            dot = dot + e4m3_to_f32(load_a(a_codes + row * p.k + kk)) * e4m3_to_f32(load_w(w_codes + col * p.k + kk));
        }
        acc = acc + dot * a_scale(width * (row * p.blocks + b)) * w_scale(width * (col / 128u * p.blocks + b));
    }
    store_c(row * p.n + col, acc);
}
