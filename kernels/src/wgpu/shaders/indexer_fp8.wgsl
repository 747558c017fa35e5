// FP8 indexer inputs (DeepGEMM's fp8_mqa_logits): Q and K as E4M3 codes, one f32 scale per key
// applied after the head sum.
fn q_at(i: u32) -> f32 {
    return e4m3_to_f32(load_q(i));
}

fn k_at(i: u32) -> f32 {
    return e4m3_to_f32(load_k(i));
}

fn finish(key: u32, sum: f32) -> f32 {
    return sum * load_k_scale(key);
}
