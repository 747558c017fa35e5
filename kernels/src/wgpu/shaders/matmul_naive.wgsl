// Naive matmul: one invocation per output element, one f32 dot product over k read straight
// from storage. Strides in the parameters cover both layouts of A and B and a broadcast B.

// `p: Params` (see kernels/src/wgpu/matmul.rs) and the storage accessors are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    let batch = gid.z;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let a_base = batch * p.a_batch_stride + row * p.a_row_stride;
    let b_base = batch * p.b_batch_stride + col * p.b_col_stride;
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = acc + load_a(a_base + kk * p.a_col_stride) * load_b(b_base + kk * p.b_row_stride);
    }
    store_c((batch * p.m + row) * p.n + col, acc);
}
