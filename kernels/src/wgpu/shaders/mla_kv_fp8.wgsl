// FlashMLA's FP8 KV cache: token `index` is p.token_bytes bytes — d_latent E4M3 codes, one f32
// scale per 128 codes, then the rope part as bf16 (all little-endian).
fn kv_at(index: u32, c: u32) -> f32 {
    let base = index * p.token_bytes;
    let scales = base + p.d_latent;
    if (c < p.d_latent) {
        let s = scales + 4u * (c / 128u);
        let scale = bitcast<f32>(load_kv(s) | (load_kv(s + 1u) << 8u) | (load_kv(s + 2u) << 16u) | (load_kv(s + 3u) << 24u));
        return e4m3_to_f32(load_kv(base + c)) * scale;
    }
    let r = scales + 4u * (p.d_latent / 128u) + 2u * (c - p.d_latent);
    return bitcast<f32>((load_kv(r) | (load_kv(r + 1u) << 8u)) << 16u);
}
