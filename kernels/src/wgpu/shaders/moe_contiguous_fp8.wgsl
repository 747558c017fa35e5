// FP8 m-grouped contiguous GEMM (DeepGEMM's m_grouped_fp8_gemm_nt_contiguous): one invocation
// per output element; the row's expert from `expert_of`, padding rows zeroed or left alone, an
// owned row's value from `fp8_dot` (per 128-block of k, codes summed in f32, then both scales).
// `p: Params`, the storage accessors and the helpers are generated or shared.

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
    store_c(row * p.n + col, fp8_dot(row, u32(expert), col));
}
