// Naive m-grouped masked GEMM: one invocation per output element of expert gid.z. Rows at or
// past the expert's masked_m are zeroed or left alone as the problem says; a valid row is one
// f32 dot product over k with the expert's weights.
// `p: Params` (kernels/src/wgpu/moe.rs; rows = max_m) and the storage accessors are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    let expert = gid.z;
    if (row >= p.rows || col >= p.n) {
        return;
    }
    let out = (expert * p.rows + row) * p.n + col;
    let count = load_groups(expert);
    if (row >= count) {
        if (p.zero_padding == 1u) {
            store_c(out, 0.0);
        }
        return;
    }
    let a_base = (expert * p.rows + row) * p.k;
    let b_base = expert * p.b_expert_stride + col * p.b_n_stride;
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = acc + load_a(a_base + kk) * load_b(b_base + kk * p.b_k_stride);
    }
    store_c(out, acc);
}
