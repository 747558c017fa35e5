// Flash MLA decode in one dispatch: a workgroup of 64 invocations takes one query row and walks
// its visible tokens in tiles of 64. Per tile each invocation scores one token (read through
// the block table), the workgroup reduces the tile's maximum and the running maximum moves to
// it; each invocation keeps up to 8 latent columns (c = lane + 64k) of the running output in
// registers, rescales them and the running sum by exp(old max - new max), and adds the tile's
// weighted values. The tile's weights and token indices pass through workgroup memory, so each
// token is located once per tile. At the end O = output / sum and LSE = max + log(sum).
// d_latent is at most 512. Only tokens below the cache length are touched.

const TILE: u32 = 64u;
const SLOTS: u32 = 8u;
const POSITIVE_INFINITY_BITS: u32 = 0x7f800000u;

var<workgroup> weights: array<f32, 64>;
var<workgroup> indices: array<u32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wg.x;
    let bh = wg.y; // batch * heads_q + head
    let b = bh / p.heads_q;
    let row = bh * p.seq_q + i;
    let q_base = row * p.d_qk;
    let o_base = row * (p.d_latent + 1u);
    let n = visible(cache_len(b), i);
    let scale = row_scale();
    var o: array<f32, 8>;
    for (var k = 0u; k < SLOTS; k++) {
        o[k] = 0.0;
    }
    var running_max = 0.0;
    var running_sum = 0.0;
    for (var start = 0u; start < n; start += TILE) {
        let t = start + li;
        let live = t < n;
        var s = 0.0;
        if (live) {
            let index = token_index(b, t);
            indices[li] = index;
            var acc = 0.0;
            for (var d = 0u; d < p.d_qk; d++) {
                acc = acc + load_q(q_base + d) * kv_at(index, d);
            }
            s = acc * scale;
        }
        // Lanes past the end offer the tile's first score, which lane 0 always has.
        weights[li] = s;
        workgroupBarrier();
        let first = weights[0];
        workgroupBarrier();
        var offered = first;
        if (live) {
            offered = s;
        }
        let tile_max = reduce(li, offered, true);
        var new_max = tile_max;
        var alpha = 0.0;
        if (start > 0u) {
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
        let count = min(TILE, n - start);
        for (var k = 0u; k < SLOTS; k++) {
            let c = li + k * LANES;
            if (c < p.d_latent) {
                var acc = 0.0;
                for (var j = 0u; j < count; j++) {
                    acc = acc + weights[j] * kv_at(indices[j], c);
                }
                o[k] = o[k] * alpha + acc;
            }
        }
        running_max = new_max;
        workgroupBarrier();
    }
    for (var k = 0u; k < SLOTS; k++) {
        let c = li + k * LANES;
        if (c < p.d_latent) {
            if (n == 0u) {
                store_o(o_base + c, 0.0);
            } else {
                store_o(o_base + c, o[k] / running_sum);
            }
        }
    }
    if (li == 0u) {
        if (n == 0u) {
            store_o(o_base + p.d_latent, bitcast<f32>(POSITIVE_INFINITY_BITS));
        } else {
            store_o(o_base + p.d_latent, running_max + log(running_sum));
        }
    }
}
