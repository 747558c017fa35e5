// FP8 m-grouped masked GEMM (DeepGEMM's m_grouped_fp8_gemm_nt_masked): one invocation per output
// element of expert gid.z; rows at or past masked_m zeroed or left alone, a valid row's value
// from `fp8_dot` over the expert's rows of the flattened (experts · max_m) × k activations.
// `p: Params` (rows = max_m), the storage accessors and the helpers are generated or shared.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    let expert = gid.z;
    if (row >= p.rows || col >= p.n) {
        return;
    }
    let out = (expert * p.rows + row) * p.n + col;
    if (row >= load_groups(expert)) {
        if (p.zero_padding == 1u) {
            store_c(out, 0.0);
        }
        return;
    }
    store_c(out, fp8_dot(expert * p.rows + row, expert, col));
}
