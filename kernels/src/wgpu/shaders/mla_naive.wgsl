// Naive MLA decode, in three phases over materialised scores: a workgroup of 64 invocations
// takes one query row (batch, head, query). (1) Each invocation computes the scores of every
// 64th visible token, each read through the block table, into a scratch row; (2) the workgroup
// reduces the row maximum, each invocation exponentiates its scores, and the workgroup reduces
// their sum; (3) each invocation computes every 64th latent column as P·V (V is the first
// d_latent columns of the same tokens), divided by the sum, and invocation 0 writes the LSE,
// max + log(sum). Only tokens below the cache length are touched. `scores` is generated.

const POSITIVE_INFINITY_BITS: u32 = 0x7f800000u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wg.x;
    let bh = wg.y; // batch * heads_q + head
    let b = bh / p.heads_q;
    let row = bh * p.seq_q + i;
    let q_base = row * p.d_qk;
    let s_base = row * (p.blocks * p.page);
    let o_base = row * (p.d_latent + 1u);
    let n = visible(cache_len(b), i);
    if (n == 0u) {
        for (var c = li; c < p.d_latent; c += LANES) {
            store_o(o_base + c, 0.0);
        }
        if (li == 0u) {
            store_o(o_base + p.d_latent, bitcast<f32>(POSITIVE_INFINITY_BITS));
        }
        return; // uniform: the whole workgroup shares the row
    }
    let scale = row_scale();

    // (1) Scores, and this invocation's maximum of them.
    var mine = false;
    var my_max = 0.0;
    for (var t = li; t < n; t += LANES) {
        let index = token_index(b, t);
        var acc = 0.0;
        for (var d = 0u; d < p.d_qk; d++) {
            acc = acc + load_q(q_base + d) * kv_at(index, d);
        }
        let s = acc * scale;
        scores[s_base + t] = s;
        if (mine) {
            my_max = max(my_max, s);
        } else {
            my_max = s;
            mine = true;
        }
    }
    // (2) Row maximum (invocations without tokens offer the first token's score), exp, sum.
    storageBarrier();
    if (!mine) {
        my_max = scores[s_base];
    }
    let row_max = reduce(li, my_max, true);
    var my_sum = 0.0;
    for (var t = li; t < n; t += LANES) {
        let e = exp(scores[s_base + t] - row_max);
        scores[s_base + t] = e;
        my_sum = my_sum + e;
    }
    storageBarrier();
    let total = reduce(li, my_sum, false);
    // (3) P·V over the latent columns, and the LSE.
    for (var c = li; c < p.d_latent; c += LANES) {
        var acc = 0.0;
        for (var t = 0u; t < n; t++) {
            acc = acc + scores[s_base + t] * kv_at(token_index(b, t), c);
        }
        store_o(o_base + c, acc / total);
    }
    if (li == 0u) {
        store_o(o_base + p.d_latent, row_max + log(total));
    }
}
