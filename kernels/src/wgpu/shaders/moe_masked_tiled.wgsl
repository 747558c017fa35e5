// Tiled m-grouped masked GEMM: a workgroup of 8x8 invocations computes a 64x64 tile of expert
// wg.z's rows as the tiled matmul does (k-slabs of 16 staged in workgroup memory as vec4s, an
// 8x8 register block per invocation). The expert's masked_m is read once into workgroup memory
// and back as a uniform value: a tile wholly past it does no arithmetic, and only rows below it
// are stored. Rows at or past masked_m are zeroed or left alone as the problem says.
// `p: Params` (kernels/src/wgpu/moe.rs; rows = max_m) and the storage accessors are generated.

const TILE_K: u32 = 16u;
const QUADS: u32 = 16u; // vec4s across a 64-wide tile
const INVOCATIONS: u32 = 64u;
const STAGES_PER_INVOCATION: u32 = 4u; // (TILE_K * QUADS) / INVOCATIONS

var<workgroup> a_tile: array<vec4<f32>, 256>; // [k][row / 4]: A transposed
var<workgroup> b_tile: array<vec4<f32>, 256>; // [k][col / 4]
var<workgroup> valid_rows: u32;

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let expert = wg.z;
    let row0 = wg.y * 64u;
    let col0 = wg.x * 64u;
    if (li == 0u) {
        valid_rows = min(load_groups(expert), p.rows);
    }
    let count = workgroupUniformLoad(&valid_rows);
    let a_base = expert * p.rows * p.k;
    let b_base = expert * p.b_expert_stride;
    let c_base = expert * p.rows * p.n;
    var c0l = vec4<f32>(); var c0h = vec4<f32>();
    var c1l = vec4<f32>(); var c1h = vec4<f32>();
    var c2l = vec4<f32>(); var c2h = vec4<f32>();
    var c3l = vec4<f32>(); var c3h = vec4<f32>();
    var c4l = vec4<f32>(); var c4h = vec4<f32>();
    var c5l = vec4<f32>(); var c5h = vec4<f32>();
    var c6l = vec4<f32>(); var c6h = vec4<f32>();
    var c7l = vec4<f32>(); var c7h = vec4<f32>();
    if (row0 < count) {
        for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
            for (var t = 0u; t < STAGES_PER_INVOCATION; t++) {
                let e = t * INVOCATIONS + li;
                let kk = e / QUADS;
                let quad = e % QUADS;
                let a_k = k0 + kk;
                var a_val = vec4<f32>();
                var b_val = vec4<f32>();
                for (var j = 0u; j < 4u; j++) {
                    let a_row = row0 + quad * 4u + j;
                    if (a_row < count && a_k < p.k) {
                        a_val[j] = load_a(a_base + a_row * p.k + a_k);
                    }
                    let b_col = col0 + quad * 4u + j;
                    if (a_k < p.k && b_col < p.n) {
                        b_val[j] = load_b(b_base + a_k * p.b_k_stride + b_col * p.b_n_stride);
                    }
                }
                a_tile[e] = a_val;
                b_tile[e] = b_val;
            }
            workgroupBarrier();
            for (var kk = 0u; kk < TILE_K; kk++) {
                let a_lo = a_tile[kk * QUADS + lid.y * 2u];
                let a_hi = a_tile[kk * QUADS + lid.y * 2u + 1u];
                let b_lo = b_tile[kk * QUADS + lid.x * 2u];
                let b_hi = b_tile[kk * QUADS + lid.x * 2u + 1u];
                c0l = c0l + a_lo.x * b_lo; c0h = c0h + a_lo.x * b_hi;
                c1l = c1l + a_lo.y * b_lo; c1h = c1h + a_lo.y * b_hi;
                c2l = c2l + a_lo.z * b_lo; c2h = c2h + a_lo.z * b_hi;
                c3l = c3l + a_lo.w * b_lo; c3h = c3h + a_lo.w * b_hi;
                c4l = c4l + a_hi.x * b_lo; c4h = c4h + a_hi.x * b_hi;
                c5l = c5l + a_hi.y * b_lo; c5h = c5h + a_hi.y * b_hi;
                c6l = c6l + a_hi.z * b_lo; c6h = c6h + a_hi.z * b_hi;
                c7l = c7l + a_hi.w * b_lo; c7h = c7h + a_hi.w * b_hi;
            }
            workgroupBarrier();
        }
    }
    let rows = array<vec4<f32>, 16>(
        c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, c5l, c5h, c6l, c6h, c7l, c7h,
    );
    for (var i = 0u; i < 8u; i++) {
        let row = row0 + lid.y * 8u + i;
        for (var j = 0u; j < 8u; j++) {
            let col = col0 + lid.x * 8u + j;
            if (row >= p.rows || col >= p.n) {
                continue;
            }
            if (row < count) {
                store_c(c_base + row * p.n + col, rows[i * 2u + j / 4u][j % 4u]);
            } else if (p.zero_padding == 1u) {
                store_c(c_base + row * p.n + col, 0.0);
            }
        }
    }
}
