// Int8 x int8 (W8A8) with a per-channel bias, one invocation per output: products summed
// exactly in i32, then the epilogue the weight format declares (p.w_kind):
// 0: (sum + i32 bias) * token scale * channel scale (Ascend QuantMatmul, bias INT32);
// 1: as 0 with the channel scale cut to its high 19 bits (TransQuantParam's & 0xFFFFE000);
// 2: sum * token scale * channel scale + f32 bias;
// 3: as 2 with a bf16 bias, the result rounded to bf16 (nearest even).
// `p: Params`, `load_a` and `load_w` (bytes), `store_c` (f32) and the helpers are generated.

fn a_word(at: u32) -> u32 {
    return load_a(at) | (load_a(at + 1u) << 8u) | (load_a(at + 2u) << 16u) | (load_a(at + 3u) << 24u);
}

fn w_word(at: u32) -> u32 {
    return load_w(at) | (load_w(at + 1u) << 8u) | (load_w(at + 2u) << 16u) | (load_w(at + 3u) << 24u);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let a = row * (4u + p.k);
    let w = col * (8u + p.k);
    var acc = 0i;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = acc + sext8(load_a(a + 4u + kk)) * sext8(load_w(w + 8u + kk));
    }
    let token_scale = bitcast<f32>(a_word(a));
    var channel_scale = bitcast<f32>(w_word(w));
    let bias_bits = w_word(w + 4u);
    var y = 0.0;
    if (p.w_kind <= 1u) {
        if (p.w_kind == 1u) {
            channel_scale = bitcast<f32>(bitcast<u32>(channel_scale) & 0xFFFFE000u);
        }
        let biased = acc + bitcast<i32>(bias_bits);
        y = f32(biased) * token_scale * channel_scale;
    } else {
        let scaled = f32(acc) * token_scale * channel_scale;
        y = scaled + bitcast<f32>(bias_bits);
        if (p.w_kind == 3u) {
            y = bitcast<f32>(f32_to_bf16_bits(y) << 16u);
        }
    }
    store_c(row * p.n + col, y);
}
