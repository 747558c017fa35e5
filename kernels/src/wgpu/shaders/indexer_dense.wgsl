// Dense indexer inputs: Q and K in the variant's precision, no key scale.
fn q_at(i: u32) -> f32 {
    return load_q(i);
}

fn k_at(i: u32) -> f32 {
    return load_k(i);
}

fn finish(key: u32, sum: f32) -> f32 {
    return sum;
}
