// Naive attention, in three phases over materialised scores: a workgroup of 64 invocations
// takes one query row. (1) Each invocation computes the scores of every 64th visible key into a
// scratch row; (2) the workgroup reduces the row maximum, each invocation exponentiates its
// scores, and the workgroup reduces their sum; (3) each invocation computes every 64th output
// column as P·V over the row, divided by the sum. Only the keys the row sees are touched, so a
// NaN in a key or value it cannot see never reaches it. `p: Params`, the storage accessors and
// `scores` are generated.

const LANES: u32 = 64u;

var<workgroup> partial: array<f32, LANES>;

// Reduces `value` over the workgroup with max (want_max) or +; every invocation gets the result.
fn reduce(li: u32, value: f32, want_max: bool) -> f32 {
    partial[li] = value;
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            if (want_max) {
                partial[li] = max(partial[li], partial[li + stride]);
            } else {
                partial[li] = partial[li] + partial[li + stride];
            }
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x;
    let bh = wg.y; // batch * heads_q + head
    let head = bh % p.heads_q;
    let kv_head = head / (p.heads_q / p.heads_kv);
    let kv_row0 = (bh / p.heads_q * p.heads_kv + kv_head) * p.len_kv;
    let q_base = (bh * p.len_q + row) * p.d_qk;
    let s_base = (bh * p.len_q + row) * p.len_kv;
    let o_base = (bh * p.len_q + row) * p.d_v;

    // Visible keys [first, last): masks aligned to the end of the key sequence.
    let position = i32(row) + i32(p.len_kv) - i32(p.len_q);
    var first = 0;
    var last = i32(p.len_kv);
    if (p.causal != 0u) {
        last = clamp(position + 1, 0, i32(p.len_kv));
    }
    if (p.window != 0u) {
        first = clamp(position - i32(p.window) + 1, 0, i32(p.len_kv));
    }
    if (first >= last) {
        for (var c = li; c < p.d_v; c += LANES) {
            store_o(o_base + c, 0.0);
        }
        return; // uniform: the whole workgroup shares the row
    }
    var scale = p.scale;
    if (p.default_scale != 0u) {
        scale = inverseSqrt(f32(p.d_qk));
    }

    // (1) Scores, and this invocation's maximum of them.
    var mine = false;
    var my_max = 0.0;
    for (var j = u32(first) + li; j < u32(last); j += LANES) {
        var acc = 0.0;
        for (var d = 0u; d < p.d_qk; d++) {
            acc = acc + load_q(q_base + d) * load_k((kv_row0 + j) * p.d_qk + d);
        }
        let s = acc * scale;
        scores[s_base + j] = s;
        if (mine) {
            my_max = max(my_max, s);
        } else {
            my_max = s;
            mine = true;
        }
    }
    // (2) Row maximum (invocations without keys offer the first key's score), exponentials, sum.
    storageBarrier();
    if (!mine) {
        my_max = scores[s_base + u32(first)];
    }
    let row_max = reduce(li, my_max, true);
    var my_sum = 0.0;
    for (var j = u32(first) + li; j < u32(last); j += LANES) {
        let e = exp(scores[s_base + j] - row_max);
        scores[s_base + j] = e;
        my_sum = my_sum + e;
    }
    storageBarrier();
    let total = reduce(li, my_sum, false);
    // (3) P·V.
    for (var c = li; c < p.d_v; c += LANES) {
        var acc = 0.0;
        for (var j = u32(first); j < u32(last); j++) {
            acc = acc + scores[s_base + j] * load_v((kv_row0 + j) * p.d_v + c);
        }
        store_o(o_base + c, acc / total);
    }
}
