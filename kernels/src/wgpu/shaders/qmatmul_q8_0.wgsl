// Q8_0 weights x f32 activations, one invocation per output: for each block of 32 along k, the
// f32 dot product of a and the codes, times the block's f16 scale, summed in f32.
// `p: Params`, `load_a` (f32), `load_w` (bytes), `store_c` (f32) and the helpers are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    var acc = 0.0;
    for (var b = 0u; b < p.blocks; b++) {
        let w = (col * p.blocks + b) * 34u;
        let d = f16_to_f32(load_w(w) | (load_w(w + 1u) << 8u));
        var dot = 0.0;
        for (var j = 0u; j < 32u; j++) {
            dot = dot + load_a(row * p.k + b * 32u + j) * f32(sext8(load_w(w + 2u + j)));
        }
        acc = acc + dot * d;
    }
    store_c(row * p.n + col, acc);
}
