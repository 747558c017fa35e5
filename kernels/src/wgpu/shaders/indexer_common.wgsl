// What the indexer kernels share: the key range of a query and the −∞ of a masked logit.

// (ks, ke) of query `i`: two little-endian i32 words, checked on the host (0 ≤ ks ≤ ke ≤ len_kv).
fn key_range(i: u32) -> vec2<u32> {
    return vec2<u32>(ranges_buf[2u * i], ranges_buf[2u * i + 1u]);
}

// −∞, the logit of a key outside the query's range (DeepGEMM's cleaned logits). Built from its
// bits: a WGSL constant expression may not overflow.
fn masked() -> f32 {
    return bitcast<f32>(0xff800000u);
}
