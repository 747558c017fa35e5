// FP8 grouped-GEMM helpers. A is the (rows × k) E4M3 matrix with one f32 scale per 1×128 tile:
// all scales (rows × k_blocks), then the codes. B is, expert after expert, each n×k matrix with
// one f32 scale per 128×128 block: its scales (n_blocks × k_blocks), then its codes.
// `p: Params`, `load_a`, `load_b` (bytes) and `e4m3_to_f32` are generated or shared.

fn a_word(at: u32) -> f32 {
    return bitcast<f32>(load_a(at) | (load_a(at + 1u) << 8u) | (load_a(at + 2u) << 16u) | (load_a(at + 3u) << 24u));
}

fn b_word(at: u32) -> f32 {
    return bitcast<f32>(load_b(at) | (load_b(at + 1u) << 8u) | (load_b(at + 2u) << 16u) | (load_b(at + 3u) << 24u));
}

// Row `row` of A times column `col` of expert `expert`'s weights: per 128-block of k the f32 sum
// of E4M3 code products, times the row tile's and the weight block's scales, summed in f32.
fn fp8_dot(row: u32, expert: u32, col: u32) -> f32 {
    let a_codes = 4u * p.rows_total * p.k_blocks;
    let n_blocks = (p.n + 127u) / 128u;
    let b_expert = expert * (4u * n_blocks * p.k_blocks + p.n * p.k);
    let b_codes = b_expert + 4u * n_blocks * p.k_blocks;
    var acc = 0.0;
    for (var blk = 0u; blk < p.k_blocks; blk++) {
        var dot = 0.0;
        for (var kk = blk * 128u; kk < min((blk + 1u) * 128u, p.k); kk++) {
            dot = dot + e4m3_to_f32(load_a(a_codes + row * p.k + kk)) * e4m3_to_f32(load_b(b_codes + col * p.k + kk));
        }
        acc = acc + dot * a_word(4u * (row * p.k_blocks + blk)) * b_word(b_expert + 4u * ((col / 128u) * p.k_blocks + blk));
    }
    return acc;
}
