// Naive routed MoE combination: one invocation per output element. For each of the token's
// top-k slots in order, skipping slots whose id is -1, the f32 dot product of the token's row of
// X with the expert's column, times the slot's routing weight, is added to the output.
// `p: Params` (kernels/src/wgpu/moe.rs; rows = tokens) and the storage accessors are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let token = gid.y;
    if (token >= p.rows || col >= p.n) {
        return;
    }
    var acc = 0.0;
    for (var j = 0u; j < p.top_k; j++) {
        let expert = bitcast<i32>(load_ids(token * p.top_k + j));
        if (expert < 0 || u32(expert) >= p.experts) {
            continue;
        }
        let weight = load_weights(token * p.top_k + j);
        let b_base = u32(expert) * p.b_expert_stride + col * p.b_n_stride;
        var dot = 0.0;
        for (var kk = 0u; kk < p.k; kk++) {
            dot = dot + load_x(token * p.k + kk) * load_w(b_base + kk * p.b_k_stride);
        }
        acc = acc + weight * dot;
    }
    store_y(token * p.n + col, acc);
}
