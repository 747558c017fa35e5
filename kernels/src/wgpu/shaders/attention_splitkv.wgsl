// Split-KV flash decode (FlashDecoding) in two passes over the same bindings. A query row's
// visible keys [first, last) are cut into splits of SPLIT keys counted from `first` (so a row's
// splits depend on its visible keys alone, not on len_kv or the launch).
// Pass `main`: a workgroup of 64 invocations per (split, query row, batch·head) computes the
// split's scores into workgroup memory, reduces their maximum m_s, exponentiates, reduces the
// sum l_s, and writes m_s, l_s and the unnormalised P·V row of the split to `partials`.
// Pass `combine`: a workgroup per row merges the splits in order (log-sum-exp):
// m = max m_s, f_s = exp(m_s - m), O = Σ f_s·acc_s / Σ f_s·l_s.
// A split whose scores are all −∞ weighs nothing (l_s = 0, no NaN from −∞ − −∞). d_v is at
// most 512 (8 columns a lane in the combine). `p: Params`, the storage accessors and
// `partials` are generated.

const LANES: u32 = 64u;
const SPLIT: u32 = 256u;
const SLOTS: u32 = 8u;
const NEG_INFINITY_BITS: u32 = 0xff800000u;

var<workgroup> partial: array<f32, LANES>;
var<workgroup> weights: array<f32, SPLIT>;

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

// The keys query `row` sees, [x, y): masks aligned to the end of the key sequence.
fn visible_keys(row: u32) -> vec2<u32> {
    let position = i32(row) + i32(p.len_kv) - i32(p.len_q);
    var first = 0;
    var last = i32(p.len_kv);
    if (p.causal != 0u) {
        last = clamp(position + 1, 0, i32(p.len_kv));
    }
    if (p.window != 0u) {
        first = clamp(position - i32(p.window) + 1, 0, i32(p.len_kv));
    }
    return vec2<u32>(u32(first), u32(max(first, last)));
}

// Splits the launch has room for per row: those of a row that sees every key.
fn max_splits() -> u32 {
    return (p.len_kv + SPLIT - 1u) / SPLIT;
}

// Where split `s` of row `r` (batch·head·len_q + query) keeps m_s, l_s and its d_v sums.
fn partial_base(r: u32, s: u32) -> u32 {
    return (r * max_splits() + s) * (p.d_v + 2u);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let s = wg.x;
    let row = wg.y;
    let bh = wg.z; // batch * heads_q + head
    let head = bh % p.heads_q;
    let kv_head = head / (p.heads_q / p.heads_kv);
    let kv_row0 = (bh / p.heads_q * p.heads_kv + kv_head) * p.len_kv;
    let q_base = (bh * p.len_q + row) * p.d_qk;
    let keys = visible_keys(row);
    let start = keys.x + s * SPLIT;
    if (start >= keys.y) {
        return; // uniform: this row has fewer splits
    }
    let count = min(SPLIT, keys.y - start);
    var scale = p.scale;
    if (p.default_scale != 0u) {
        scale = inverseSqrt(f32(p.d_qk));
    }
    // Scores of every 64th key of the split; lanes without keys offer the first one's.
    var my_max = bitcast<f32>(NEG_INFINITY_BITS);
    for (var j = li; j < count; j += LANES) {
        var acc = 0.0;
        for (var d = 0u; d < p.d_qk; d++) {
            acc = acc + load_q(q_base + d) * load_k((kv_row0 + start + j) * p.d_qk + d);
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
    let base = partial_base(bh * p.len_q + row, s);
    for (var c = li; c < p.d_v; c += LANES) {
        var acc = 0.0;
        for (var j = 0u; j < count; j++) {
            acc = acc + weights[j] * load_v((kv_row0 + start + j) * p.d_v + c);
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
    let row = wg.x;
    let bh = wg.y;
    let r = bh * p.len_q + row;
    let o_base = r * p.d_v;
    let keys = visible_keys(row);
    let splits = (keys.y - keys.x + SPLIT - 1u) / SPLIT;
    if (splits == 0u) {
        for (var c = li; c < p.d_v; c += LANES) {
            store_o(o_base + c, 0.0);
        }
        return;
    }
    var m = partials[partial_base(r, 0u)];
    for (var s = 1u; s < splits; s++) {
        m = max(m, partials[partial_base(r, s)]);
    }
    var o: array<f32, 8>;
    for (var k = 0u; k < SLOTS; k++) {
        o[k] = 0.0;
    }
    var sum = 0.0;
    for (var s = 0u; s < splits; s++) {
        let base = partial_base(r, s);
        let m_s = partials[base];
        // A split of −∞ scores carries nothing (and m_s − m would be NaN when m is −∞ too).
        if (m_s == bitcast<f32>(NEG_INFINITY_BITS)) {
            continue;
        }
        let f = exp(m_s - m);
        sum = sum + partials[base + 1u] * f;
        for (var k = 0u; k < SLOTS; k++) {
            let c = li + k * LANES;
            if (c < p.d_v) {
                o[k] = o[k] + partials[base + 2u + c] * f;
            }
        }
    }
    for (var k = 0u; k < SLOTS; k++) {
        let c = li + k * LANES;
        if (c < p.d_v) {
            store_o(o_base + c, o[k] / sum);
        }
    }
}
