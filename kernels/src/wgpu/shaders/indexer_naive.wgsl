// Naive indexer logits (DeepSeek Sparse Attention's lightning indexer): one invocation per
// (query, key). A key in the query's range [ks, ke) gets Σ_h w_h · relu(q_h · k), each dot
// product and the head sum in order in f32, then `finish` (the FP8 key scale); any other key gets
// −∞. `p: Params`, the storage accessors and the layout's q_at, k_at and finish are generated.

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let key = gid.x;
    let query = gid.y;
    if (key >= p.len_kv || query >= p.len_q) {
        return;
    }
    let r = key_range(query);
    let out = query * p.len_kv + key;
    if (key < r.x || key >= r.y) {
        store_logits(out, masked());
        return;
    }
    var sum = 0.0;
    for (var h = 0u; h < p.heads; h++) {
        let q_base = (query * p.heads + h) * p.d;
        var dot = 0.0;
        for (var c = 0u; c < p.d; c++) {
            dot = dot + q_at(q_base + c) * k_at(key * p.d + c);
        }
        sum = sum + max(dot, 0.0) * load_w(query * p.heads + h);
    }
    store_logits(out, finish(key, sum));
}
