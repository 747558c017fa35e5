// Flash sparse top-k attention (DeepSeek Sparse Attention) in one dispatch: a workgroup of 64
// invocations takes one (query, head) row and walks its kv head's index list in tiles of 64
// slots. Per tile each invocation reads one slot, gathers its KV row index into workgroup memory
// (NONE for −1, an unused slot) and scores it; the workgroup counts the tile's valid slots (a
// tile of nothing but −1 is skipped whole), reduces the tile's maximum and moves the running
// maximum to it; each invocation keeps up to 8 output columns (c = lane + 64k) of the running
// output in registers, rescales them and the running sum by exp(old max − new max), and adds the
// tile's weighted values, reading the gathered rows and weights from workgroup memory. A list
// with no valid slot gives zeros; otherwise O = output / sum. A slot listed twice is two terms.
// d_v is at most 512. `kv_at(row, c)` comes from the MLA family's dense or FP8 layout helper.

const TILE: u32 = 64u;
const SLOTS: u32 = 8u;
const LANES: u32 = 64u;
// The gathered row of an unused slot.
const NONE: u32 = 0xffffffffu;
// Offered to the maximum by lanes without a valid slot: below every finite score.
const LOWEST: f32 = -3.4028235e38;

var<workgroup> partial: array<f32, 64>;
var<workgroup> weights: array<f32, 64>;
var<workgroup> rows: array<u32, 64>;

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let query = wg.x;
    let head = wg.y;
    let g = head / (p.heads_q / p.heads_kv);
    let row = query * p.heads_q + head;
    let q_base = row * p.d_qk;
    let list = (query * p.heads_kv + g) * p.topk;
    let o_base = row * p.d_v;
    var scale = p.scale;
    if (p.default_scale != 0u) {
        scale = inverseSqrt(f32(p.d_qk));
    }
    var o: array<f32, 8>;
    for (var k = 0u; k < SLOTS; k++) {
        o[k] = 0.0;
    }
    var running_max = LOWEST;
    var running_sum = 0.0;
    var seen = false;
    for (var start = 0u; start < p.topk; start += TILE) {
        // Gather this lane's slot: its KV row, or NONE.
        let t = start + li;
        var key = NONE;
        if (t < p.topk) {
            let j = entry(list + t);
            if (j != -1) {
                key = u32(j) * p.heads_kv + g;
            }
        }
        rows[li] = key;
        let live = key != NONE;
        var s = LOWEST;
        var one = 0.0;
        if (live) {
            var acc = 0.0;
            for (var d = 0u; d < p.d_qk; d++) {
                acc = acc + load_q(q_base + d) * kv_at(key, d);
            }
            s = acc * scale;
            one = 1.0;
        }
        // A tile of nothing but unused slots changes nothing (uniform: a reduced count).
        let count = reduce(li, one, false);
        if (count == 0.0) {
            continue;
        }
        let tile_max = reduce(li, s, true);
        var new_max = tile_max;
        var alpha = 0.0;
        if (seen) {
            new_max = max(running_max, tile_max);
            alpha = exp(running_max - new_max);
        }
        var w = 0.0;
        if (live) {
            w = exp(s - new_max);
        }
        let tile_sum = reduce(li, w, false);
        weights[li] = w;
        workgroupBarrier();
        running_sum = running_sum * alpha + tile_sum;
        let n = min(TILE, p.topk - start);
        for (var k = 0u; k < SLOTS; k++) {
            let c = li + k * LANES;
            if (c < p.d_v) {
                var acc = 0.0;
                for (var jj = 0u; jj < n; jj++) {
                    let r = rows[jj];
                    if (r != NONE) {
                        acc = acc + weights[jj] * kv_at(r, c);
                    }
                }
                o[k] = o[k] * alpha + acc;
            }
        }
        running_max = new_max;
        seen = true;
        workgroupBarrier();
    }
    for (var k = 0u; k < SLOTS; k++) {
        let c = li + k * LANES;
        if (c < p.d_v) {
            if (seen) {
                store_o(o_base + c, o[k] / running_sum);
            } else {
                store_o(o_base + c, 0.0);
            }
        }
    }
}
