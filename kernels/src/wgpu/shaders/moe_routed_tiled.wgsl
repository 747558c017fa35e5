// Tiled routed MoE combination: a workgroup of 64 invocations computes 256 columns of one
// token's output, four per invocation. The token's row of X is staged through workgroup memory
// in chunks of 256 (read once for every column and slot); per chunk, for each of the top-k
// slots in order (skipping -1), each invocation forms the four chunk dot products against the
// expert's columns and adds them, times the slot's routing weight, to its four accumulators.
// `p: Params` (kernels/src/wgpu/moe.rs; rows = tokens) and the storage accessors are generated.

const CHUNK: u32 = 256u;
const LANES: u32 = 64u;

var<workgroup> x_tile: array<f32, 256>;

@compute @workgroup_size(64, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let token = wg.y;
    let col0 = wg.x * CHUNK + li * 4u;
    var acc = vec4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += CHUNK) {
        for (var t = 0u; t < 4u; t++) {
            let kk = k0 + t * LANES + li;
            x_tile[t * LANES + li] = select(0.0, load_x(token * p.k + min(kk, p.k - 1u)), kk < p.k);
        }
        workgroupBarrier();
        let width = min(CHUNK, p.k - k0);
        for (var j = 0u; j < p.top_k; j++) {
            let expert = bitcast<i32>(load_ids(token * p.top_k + j));
            if (expert < 0 || u32(expert) >= p.experts) {
                continue;
            }
            let weight = load_weights(token * p.top_k + j);
            let b_base = u32(expert) * p.b_expert_stride + k0 * p.b_k_stride;
            // Columns past n read column n - 1 and are never stored.
            let c0 = b_base + min(col0, p.n - 1u) * p.b_n_stride;
            let c1 = b_base + min(col0 + 1u, p.n - 1u) * p.b_n_stride;
            let c2 = b_base + min(col0 + 2u, p.n - 1u) * p.b_n_stride;
            let c3 = b_base + min(col0 + 3u, p.n - 1u) * p.b_n_stride;
            var dot = vec4<f32>();
            for (var kk = 0u; kk < width; kk++) {
                let at = kk * p.b_k_stride;
                let b = vec4<f32>(load_w(c0 + at), load_w(c1 + at), load_w(c2 + at), load_w(c3 + at));
                dot = dot + x_tile[kk] * b;
            }
            acc = acc + weight * dot;
        }
        workgroupBarrier();
    }
    for (var c = 0u; c < 4u; c++) {
        if (col0 + c < p.n) {
            store_y(token * p.n + col0 + c, acc[c]);
        }
    }
}
