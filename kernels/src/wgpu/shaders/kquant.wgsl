// GGML K-quant values (Q4_K, Q5_K, Q6_K) as ggml's dequantizers compute them in f32. The shader
// that includes this defines `kq_byte(i)`, byte i of the encoded matrix. Every product here is
// exact in f32 (an f16 times a 6-bit scale, times a 5-bit code), so a fused multiply-add
// computes the same value as the separate operations, on any driver.

fn kq_f16(at: u32) -> f32 {
    return f16_to_f32(kq_byte(at) | (kq_byte(at + 1u) << 8u));
}

// Scale (x) and min (y) of sub-block j from the 12 bytes at `at`: six bits each, the top two bits
// of sub-blocks 4..7 in the top bits of bytes 0..7.
fn kq_scale_min(at: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(kq_byte(at + j) & 63u), f32(kq_byte(at + j + 4u) & 63u));
    }
    let sc = (kq_byte(at + j + 4u) & 0xfu) | ((kq_byte(at + j - 4u) >> 6u) << 4u);
    let m = (kq_byte(at + j + 4u) >> 4u) | ((kq_byte(at + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

// Value r (0..255) of the super-block at byte `base`; kind 0 = Q4_K, 1 = Q5_K, 2 = Q6_K.
fn kq_value(kind: u32, base: u32, r: u32) -> f32 {
    if (kind == 2u) {
        let h = r / 128u;
        let quarter = r % 128u / 32u;
        let l = r % 32u;
        let low = (kq_byte(base + 64u * h + l + 32u * (quarter & 1u)) >> (4u * (quarter >> 1u))) & 0xfu;
        let high = (kq_byte(base + 128u + 32u * h + l) >> (2u * quarter)) & 3u;
        let scale = f32(sext8(kq_byte(base + 192u + 8u * h + l / 16u + 2u * quarter)));
        return kq_f16(base + 208u) * scale * f32(i32(low | (high << 4u)) - 32);
    }
    let g = r / 64u;
    let upper = (r % 64u) / 32u;
    let l = r % 32u;
    let is = 2u * g + upper;
    let sm = kq_scale_min(base + 4u, is);
    var qs = base + 16u;
    var q = 0u;
    if (kind == 1u) {
        qs = base + 48u;
        q = ((kq_byte(base + 16u + l) >> is) & 1u) << 4u;
    }
    q = q + ((kq_byte(qs + 32u * g + l) >> (4u * upper)) & 0xfu);
    let d1 = kq_f16(base) * sm.x;
    let m1 = kq_f16(base + 2u) * sm.y;
    return d1 * f32(q) - m1;
}

// Bytes of one super-block of `kind`.
fn kq_block_bytes(kind: u32) -> u32 {
    return select(select(144u, 176u, kind == 1u), 210u, kind == 2u);
}
