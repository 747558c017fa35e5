// Naive sparse top-k attention (DeepSeek Sparse Attention): a workgroup of 64 invocations takes
// one (query, head) row and its kv head's index list of `topk` slots. (1) Each invocation scores
// every 64th slot whose entry is a key (−1 marks an unused slot and is skipped) into a scratch
// row; (2) the workgroup counts the valid slots — none: the row is zeros — and reduces the row
// maximum, each invocation exponentiates its scores (0 for unused slots) and the workgroup
// reduces their sum; (3) each invocation computes every 64th output column as P·V over the
// slots, divided by the sum. A slot listed twice is two terms. Values are the first d_v columns
// of a KV row (MLA). `p: Params`, the storage accessors and `scores` are generated; the index
// bytes are read a little-endian i32 word at a time; `kv_at(row, c)` comes from the MLA family's
// dense or FP8 layout helper (a KV row is one (key, kv head) pair).

const LANES: u32 = 64u;
// Offered to the maximum by invocations without a valid slot: below every finite score.
const LOWEST: f32 = -3.4028235e38;

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

// Entry `i` of the index lists.
fn entry(i: u32) -> i32 {
    return bitcast<i32>(indices_buf[i]);
}

// Whether an entry names a key (the problem guarantees −1 or 0..len_kv).
fn is_key(j: i32) -> bool {
    return j != -1;
}

// The KV row of key `j` in kv head `g`.
fn kv_row(j: i32, g: u32) -> u32 {
    return u32(j) * p.heads_kv + g;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let query = wg.x;
    let head = wg.y;
    let g = head / (p.heads_q / p.heads_kv);
    let row = query * p.heads_q + head;
    let q_base = row * p.d_qk;
    let list = (query * p.heads_kv + g) * p.topk;
    let s_base = row * p.topk;
    let o_base = row * p.d_v;
    var scale = p.scale;
    if (p.default_scale != 0u) {
        scale = inverseSqrt(f32(p.d_qk));
    }

    // (1) Scores of this invocation's valid slots, and their maximum.
    var mine = 0.0;
    var my_max = LOWEST;
    for (var t = li; t < p.topk; t += LANES) {
        let j = entry(list + t);
        if (!is_key(j)) {
            continue;
        }
        let k_row = kv_row(j, g);
        var acc = 0.0;
        for (var d = 0u; d < p.d_qk; d++) {
            acc = acc + load_q(q_base + d) * kv_at(k_row, d);
        }
        let s = acc * scale;
        scores[s_base + t] = s;
        my_max = max(my_max, s);
        mine = mine + 1.0;
    }
    // (2) No valid slot: zeros (uniform: the whole workgroup shares the row).
    let valid = reduce(li, mine, false);
    if (valid == 0.0) {
        for (var c = li; c < p.d_v; c += LANES) {
            store_o(o_base + c, 0.0);
        }
        return;
    }
    storageBarrier();
    let row_max = reduce(li, my_max, true);
    var my_sum = 0.0;
    for (var t = li; t < p.topk; t += LANES) {
        var e = 0.0;
        if (is_key(entry(list + t))) {
            e = exp(scores[s_base + t] - row_max);
        }
        scores[s_base + t] = e;
        my_sum = my_sum + e;
    }
    storageBarrier();
    let total = reduce(li, my_sum, false);
    // (3) P·V over the slots; unused slots weigh 0 and are not read.
    for (var c = li; c < p.d_v; c += LANES) {
        var acc = 0.0;
        for (var t = 0u; t < p.topk; t++) {
            let j = entry(list + t);
            if (is_key(j)) {
                acc = acc + scores[s_base + t] * kv_at(kv_row(j, g), c);
            }
        }
        store_o(o_base + c, acc / total);
    }
}
