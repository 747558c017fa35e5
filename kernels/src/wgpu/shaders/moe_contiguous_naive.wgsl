// Naive m-grouped contiguous GEMM: one invocation per output element. The row's expert comes
// from `expert_of` (m_indices or prefix-sum offsets); a padding row is zeroed or left alone as
// the problem says; an owned row is one f32 dot product over k with its expert's weights, read
// through strides that cover both layouts of B.
// `p: Params` (kernels/src/wgpu/moe.rs), the storage accessors and `expert_of` are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.rows || col >= p.n) {
        return;
    }
    let expert = expert_of(row);
    if (expert < 0) {
        if (p.zero_padding == 1u) {
            store_c(row * p.n + col, 0.0);
        }
        return;
    }
    let b_base = u32(expert) * p.b_expert_stride + col * p.b_n_stride;
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = acc + load_a(row * p.k + kk) * load_b(b_base + kk * p.b_k_stride);
    }
    store_c(row * p.n + col, acc);
}
