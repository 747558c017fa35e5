// Split-KV flash MLA decode in two passes over the same bindings. A query row's visible tokens
// [0, n) are cut into splits of SPLIT (64) tokens.
// Pass `main`: a workgroup of 64 invocations per (split, query, batch·head) scores the split's
// tokens (each read once through the block table) into workgroup memory, reduces their maximum
// m_s, exponentiates, reduces the sum l_s, and writes m_s, l_s and the unnormalised P·V row
// (d_latent sums) of the split to `partials`.
// Pass `combine`: a workgroup per row merges the splits in order (log-sum-exp):
// m = max m_s, f_s = exp(m_s - m), O = Σ f_s·acc_s / Σ f_s·l_s and LSE = m + log(Σ f_s·l_s).
// A split whose scores are all −∞ weighs nothing. d_latent is at most 512. `p`, the storage
// accessors, `partials` and the MLA helpers are generated; `kv_at` reads a dense cache
// (`splitkv`) or FlashMLA's FP8 layout (`splitkv_fp8`), as for the one-pass kernels.

const SPLIT: u32 = 64u;
const SLOTS: u32 = 8u;
const NEG_INFINITY_BITS: u32 = 0xff800000u;
const POSITIVE_INFINITY_BITS: u32 = 0x7f800000u;

var<workgroup> weights: array<f32, SPLIT>;
var<workgroup> indices: array<u32, SPLIT>;

// Splits the launch has room for per row: those of the longest sequence the table allows.
fn max_splits() -> u32 {
    return (p.blocks * p.page + SPLIT - 1u) / SPLIT;
}

// Where split `s` of row `r` keeps m_s, l_s and its d_latent sums.
fn partial_base(r: u32, s: u32) -> u32 {
    return (r * max_splits() + s) * (p.d_latent + 2u);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let s = wg.x;
    let i = wg.y;
    let bh = wg.z; // batch * heads_q + head
    let b = bh / p.heads_q;
    let row = bh * p.seq_q + i;
    let q_base = row * p.d_qk;
    let n = visible(cache_len(b), i);
    let start = s * SPLIT;
    if (start >= n) {
        return; // uniform: this row has fewer splits
    }
    let count = min(SPLIT, n - start);
    let scale = row_scale();
    var my_max = bitcast<f32>(NEG_INFINITY_BITS);
    for (var j = li; j < count; j += LANES) {
        let index = token_index(b, start + j);
        indices[j] = index;
        var acc = 0.0;
        for (var d = 0u; d < p.d_qk; d++) {
            acc = acc + load_q(q_base + d) * kv_at(index, d);
        }
        let score = acc * scale;
        weights[j] = score;
        if (j == li) {
            my_max = score;
        } else {
            my_max = max(my_max, score);
        }
    }
    workgroupBarrier();
    if (li >= count) {
        my_max = weights[0];
    }
    let split_max = reduce(li, my_max, true);
    let empty = split_max == bitcast<f32>(NEG_INFINITY_BITS);
    var my_sum = 0.0;
    for (var j = li; j < count; j += LANES) {
        var e = 0.0;
        if (!empty) {
            e = exp(weights[j] - split_max);
        }
        weights[j] = e;
        my_sum = my_sum + e;
    }
    let split_sum = reduce(li, my_sum, false);
    let base = partial_base(row, s);
    for (var c = li; c < p.d_latent; c += LANES) {
        var acc = 0.0;
        for (var j = 0u; j < count; j++) {
            acc = acc + weights[j] * kv_at(indices[j], c);
        }
        partials[base + 2u + c] = acc;
    }
    if (li == 0u) {
        partials[base] = split_max;
        partials[base + 1u] = split_sum;
    }
}

@compute @workgroup_size(64, 1, 1)
fn combine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wg.x;
    let bh = wg.y;
    let b = bh / p.heads_q;
    let row = bh * p.seq_q + i;
    let o_base = row * (p.d_latent + 1u);
    let n = visible(cache_len(b), i);
    let splits = (n + SPLIT - 1u) / SPLIT;
    if (splits == 0u) {
        for (var c = li; c < p.d_latent; c += LANES) {
            store_o(o_base + c, 0.0);
        }
        if (li == 0u) {
            store_o(o_base + p.d_latent, bitcast<f32>(POSITIVE_INFINITY_BITS));
        }
        return;
    }
    var m = partials[partial_base(row, 0u)];
    for (var s = 1u; s < splits; s++) {
        m = max(m, partials[partial_base(row, s)]);
    }
    var o: array<f32, 8>;
    for (var k = 0u; k < SLOTS; k++) {
        o[k] = 0.0;
    }
    var sum = 0.0;
    for (var s = 0u; s < splits; s++) {
        let base = partial_base(row, s);
        let m_s = partials[base];
        // A split of −∞ scores carries nothing (and m_s − m would be NaN when m is −∞ too).
        if (m_s == bitcast<f32>(NEG_INFINITY_BITS)) {
            continue;
        }
        let f = exp(m_s - m);
        sum = sum + partials[base + 1u] * f;
        for (var k = 0u; k < SLOTS; k++) {
            let c = li + k * LANES;
            if (c < p.d_latent) {
                o[k] = o[k] + partials[base + 2u + c] * f;
            }
        }
    }
    for (var k = 0u; k < SLOTS; k++) {
        let c = li + k * LANES;
        if (c < p.d_latent) {
            store_o(o_base + c, o[k] / sum);
        }
    }
    if (li == 0u) {
        store_o(o_base + p.d_latent, m + log(sum));
    }
}
