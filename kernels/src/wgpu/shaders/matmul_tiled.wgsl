// Tiled matmul: a workgroup of 8x8 invocations computes a 32x32 tile of C. Each k-slab of 32
// is staged in workgroup memory (A as [row][k], B as [k][col]); each invocation then keeps a
// 4x4 register block of f32 accumulators as four vec4 rows. Loads and stores are guarded at
// every edge, so any m, n, k works; out-of-range tile entries are zero and add nothing.

// `p: Params` (see kernels/src/wgpu/matmul.rs) and the storage accessors are generated.

const TILE_M: u32 = 32u;
const TILE_N: u32 = 32u;
const TILE_K: u32 = 32u;
const INVOCATIONS: u32 = 64u;
const LOADS_PER_INVOCATION: u32 = 16u; // (32 * 32) / 64

var<workgroup> a_tile: array<f32, 1024>; // TILE_M x TILE_K
var<workgroup> b_tile: array<f32, 1024>; // TILE_K x TILE_N

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let batch = wg.z;
    let row0 = wg.y * TILE_M;
    let col0 = wg.x * TILE_N;
    let a_base = batch * p.a_batch_stride;
    let b_base = batch * p.b_batch_stride;
    // Row r of this invocation's 4x4 block, columns in the vec4 lanes.
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    let my_a = lid.y * 4u * TILE_K;
    let my_b = lid.x * 4u;
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        for (var t = 0u; t < LOADS_PER_INVOCATION; t++) {
            let e = t * INVOCATIONS + li;
            let a_row = row0 + e / TILE_K;
            let a_k = k0 + e % TILE_K;
            var a_val = 0.0;
            if (a_row < p.m && a_k < p.k) {
                a_val = load_a(a_base + a_row * p.a_row_stride + a_k * p.a_col_stride);
            }
            a_tile[e] = a_val;
            let b_k = k0 + e / TILE_N;
            let b_col = col0 + e % TILE_N;
            var b_val = 0.0;
            if (b_k < p.k && b_col < p.n) {
                b_val = load_b(b_base + b_k * p.b_row_stride + b_col * p.b_col_stride);
            }
            b_tile[e] = b_val;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let b = kk * TILE_N + my_b;
            let b_row = vec4<f32>(b_tile[b], b_tile[b + 1u], b_tile[b + 2u], b_tile[b + 3u]);
            let a = my_a + kk;
            acc0 = acc0 + a_tile[a] * b_row;
            acc1 = acc1 + a_tile[a + TILE_K] * b_row;
            acc2 = acc2 + a_tile[a + 2u * TILE_K] * b_row;
            acc3 = acc3 + a_tile[a + 3u * TILE_K] * b_row;
        }
        workgroupBarrier();
    }
    let rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + my_b + j;
            if (row < p.m && col < p.n) {
                store_c((batch * p.m + row) * p.n + col, rows[i][j]);
            }
        }
    }
}
