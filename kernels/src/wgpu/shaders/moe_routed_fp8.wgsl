// Naive routed MoE combination over FP8 operands (X in 1x128 tiles, W per expert in 128x128
// blocks, DeepGEMM's scaling): one invocation per output element. For each of the token's top-k
// slots in order, skipping slots whose id is -1, `fp8_dot` of the token's row of X with the
// expert's column, times the slot's routing weight, is added to the output.
// `p: Params` (kernels/src/wgpu/moe.rs; rows = rows_total = tokens), the storage accessors and
// the helpers are generated or shared.

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
        acc = acc + weight * fp8_dot(token, u32(expert), col);
    }
    store_y(token * p.n + col, acc);
}
