// NVFP4 weights x f32 or bf16 activations (W4A16), one invocation per output: per block of 16
// along k, the f32 dot of a and e2m1, times the block's E4M3 scale, summed in f32; the sum times
// the tensor scale.
// `p: Params`, `load_a` (the variant's precision, read as f32), `load_w` (bytes), `store_c` (the
// variant's precision: bf16 rounded to nearest even) and the helpers are generated.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let e2m1 = element(4u);
    var acc = 0.0;
    for (var b = 0u; b < p.blocks; b++) {
        let w = 4u + (col * p.blocks + b) * 9u;
        var dot = 0.0;
        for (var j = 0u; j < 8u; j++) {
            let byte = load_w(w + 1u + j);
            let a = row * p.k + b * 16u + 2u * j;
            dot = dot + load_a(a) * mf_decode(byte & 0xfu, e2m1, 0);
            dot = dot + load_a(a + 1u) * mf_decode(byte >> 4u, e2m1, 0);
        }
        acc = acc + dot * e4m3_to_f32(load_w(w));
    }
    let s = bitcast<f32>(load_w(0u) | (load_w(1u) << 8u) | (load_w(2u) << 16u) | (load_w(3u) << 24u));
    store_c(row * p.n + col, acc * s);
}
