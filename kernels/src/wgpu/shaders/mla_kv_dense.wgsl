// A dense KV cache: token `index` of the pool is d_qk values in the variant's precision.
fn kv_at(index: u32, c: u32) -> f32 {
    return load_kv(index * p.d_qk + c);
}
