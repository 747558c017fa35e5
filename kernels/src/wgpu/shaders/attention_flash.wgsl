// Flash attention in one dispatch. A workgroup of 32 invocations takes 32 query rows of one
// (batch, head), one row per invocation. Keys go by in tiles of 16: each tile's K (then V) is
// staged in workgroup memory 32 columns (8 vec4) at a time, and each row keeps an online
// softmax — a running maximum, a running sum and an f32 output row — rescaling sum and output by
// exp(old max - new max) whenever a tile raises the maximum. Keys a row cannot see are skipped,
// so a NaN there never reaches it, and tiles no row of the workgroup can see are not visited. d_qk and d_v are at most 256 (private arrays of 64 vec4).
// `p: Params` and the storage accessors are generated.

const ROWS: u32 = 32u;
const TILE_KEYS: u32 = 16u;
const CHUNK4: u32 = 8u;
const MAX_D4: u32 = 64u;
const NEG_INFINITY_BITS: u32 = 0xff800000u;

var<workgroup> k_tile: array<vec4<f32>, 128>; // TILE_KEYS x CHUNK4
var<workgroup> v_tile: array<vec4<f32>, 128>; // TILE_KEYS x CHUNK4

// Four consecutive elements of a row of width `width` starting at column 4 * c4 (zeros past the
// row's end), read through `which` (0: q, 1: k, 2: v).
fn load4(which: u32, row_start: u32, c4: u32, width: u32) -> vec4<f32> {
    var out = vec4<f32>();
    for (var i = 0u; i < 4u; i++) {
        let c = c4 * 4u + i;
        if (c < width) {
            if (which == 0u) {
                out[i] = load_q(row_start + c);
            } else if (which == 1u) {
                out[i] = load_k(row_start + c);
            } else {
                out[i] = load_v(row_start + c);
            }
        }
    }
    return out;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let bh = wg.y; // batch * heads_q + head
    let head = bh % p.heads_q;
    let kv_head = head / (p.heads_q / p.heads_kv);
    let kv_row0 = (bh / p.heads_q * p.heads_kv + kv_head) * p.len_kv;
    let row = wg.x * ROWS + li;
    let in_range = row < p.len_q;
    let d_qk4 = (p.d_qk + 3u) / 4u;
    let d_v4 = (p.d_v + 3u) / 4u;

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
    if (!in_range) {
        last = first;
    }

    var scale = p.scale;
    if (p.default_scale != 0u) {
        scale = inverseSqrt(f32(p.d_qk));
    }
    var q: array<vec4<f32>, MAX_D4>;
    var o: array<vec4<f32>, MAX_D4>;
    if (in_range) {
        for (var c4 = 0u; c4 < d_qk4; c4++) {
            q[c4] = load4(0u, (bh * p.len_q + row) * p.d_qk, c4, p.d_qk);
        }
    }
    var running_max = 0.0;
    var running_sum = 0.0;
    var seen = false;

    // The keys any row of this workgroup can see. Tiles outside them change nothing and are
    // skipped whole; the range depends only on the workgroup and the parameters, so every
    // invocation walks the same tiles (barriers need uniform control flow).
    let first_row = wg.x * ROWS;
    let last_row = min(first_row + ROWS, p.len_q) - 1u;
    var kv_begin = 0u;
    var kv_end = p.len_kv;
    if (p.causal != 0u) {
        kv_end = u32(clamp(i32(last_row) + i32(p.len_kv) - i32(p.len_q) + 1, 0, i32(p.len_kv)));
    }
    if (p.window != 0u) {
        let begin = i32(first_row) + i32(p.len_kv) - i32(p.len_q) - i32(p.window) + 1;
        kv_begin = u32(clamp(begin, 0, i32(p.len_kv)));
    }
    for (var key0 = kv_begin / TILE_KEYS * TILE_KEYS; key0 < kv_end; key0 += TILE_KEYS) {
        var s: array<f32, TILE_KEYS>;
        for (var c0 = 0u; c0 < d_qk4; c0 += CHUNK4) {
            workgroupBarrier();
            for (var e = li; e < TILE_KEYS * CHUNK4; e += ROWS) {
                let key = key0 + e / CHUNK4;
                var value = vec4<f32>();
                if (key < p.len_kv) {
                    value = load4(1u, (kv_row0 + key) * p.d_qk, c0 + e % CHUNK4, p.d_qk);
                }
                k_tile[e] = value;
            }
            workgroupBarrier();
            // This chunk of the query row in registers (llvmpipe keeps a dynamically indexed
            // private array in memory); the sums run in the same order as over q[c0 + dd].
            let q0 = q[c0]; let q1 = q[c0 + 1u]; let q2 = q[c0 + 2u]; let q3 = q[c0 + 3u];
            let q4 = q[c0 + 4u]; let q5 = q[c0 + 5u]; let q6 = q[c0 + 6u]; let q7 = q[c0 + 7u];
            for (var kk = 0u; kk < TILE_KEYS; kk++) {
                let kt = kk * CHUNK4;
                var acc = s[kk];
                acc = acc + dot(q0, k_tile[kt]);
                acc = acc + dot(q1, k_tile[kt + 1u]);
                acc = acc + dot(q2, k_tile[kt + 2u]);
                acc = acc + dot(q3, k_tile[kt + 3u]);
                acc = acc + dot(q4, k_tile[kt + 4u]);
                acc = acc + dot(q5, k_tile[kt + 5u]);
                acc = acc + dot(q6, k_tile[kt + 6u]);
                acc = acc + dot(q7, k_tile[kt + 7u]);
                s[kk] = acc;
            }
        }

        // Scale, mask and the tile's maximum.
        var visible: array<bool, TILE_KEYS>;
        var any_visible = false;
        var tile_max = 0.0;
        for (var kk = 0u; kk < TILE_KEYS; kk++) {
            let key = i32(key0 + kk);
            visible[kk] = key >= first && key < last;
            if (visible[kk]) {
                s[kk] = s[kk] * scale;
                if (any_visible) {
                    tile_max = max(tile_max, s[kk]);
                } else {
                    tile_max = s[kk];
                    any_visible = true;
                }
            }
        }

        // Online softmax: raise the running maximum and rescale what was summed under the old one.
        var new_max = tile_max;
        if (seen) {
            new_max = max(running_max, tile_max);
        }
        // While every visible score so far is −∞ (masked keys), subtract 0 instead: those keys
        // weigh exp(−∞) = 0 rather than exp(−∞ + ∞) = NaN, and exp(−∞ − shift) = 0 later
        // empties a running state that held only them.
        var shift = new_max;
        if (bitcast<u32>(new_max) == NEG_INFINITY_BITS) {
            shift = 0.0;
        }
        var weights: array<f32, TILE_KEYS>;
        if (any_visible) {
            if (seen) {
                let rescale = exp(running_max - shift);
                running_sum = running_sum * rescale;
                for (var c4 = 0u; c4 < d_v4; c4++) {
                    o[c4] = o[c4] * rescale;
                }
            }
            for (var kk = 0u; kk < TILE_KEYS; kk++) {
                if (visible[kk]) {
                    weights[kk] = exp(s[kk] - shift);
                    running_sum = running_sum + weights[kk];
                }
            }
            running_max = new_max;
            seen = true;
        }

        // P·V for this tile.
        for (var c0 = 0u; c0 < d_v4; c0 += CHUNK4) {
            workgroupBarrier();
            for (var e = li; e < TILE_KEYS * CHUNK4; e += ROWS) {
                let key = key0 + e / CHUNK4;
                var value = vec4<f32>();
                if (key < p.len_kv) {
                    value = load4(2u, (kv_row0 + key) * p.d_v, c0 + e % CHUNK4, p.d_v);
                }
                v_tile[e] = value;
            }
            workgroupBarrier();
            if (any_visible) {
                for (var dd = 0u; dd < CHUNK4; dd++) {
                    var acc = o[c0 + dd];
                    for (var kk = 0u; kk < TILE_KEYS; kk++) {
                        if (visible[kk]) {
                            acc = acc + weights[kk] * v_tile[kk * CHUNK4 + dd];
                        }
                    }
                    o[c0 + dd] = acc;
                }
            }
        }
    }

    if (in_range) {
        let o_base = (bh * p.len_q + row) * p.d_v;
        for (var c = 0u; c < p.d_v; c++) {
            // A row that saw no key outputs zeros.
            store_o(o_base + c, select(0.0, o[c / 4u][c % 4u] / running_sum, seen));
        }
    }
}
