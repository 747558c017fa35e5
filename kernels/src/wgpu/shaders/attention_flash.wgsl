// Flash attention in one dispatch. A workgroup of 32 invocations takes 32 query rows of one
// (batch, head), one row per invocation. Keys go by in tiles of 16: each tile's K (then V) is
// staged in workgroup memory 32 columns (8 vec4) at a time, and each row keeps an online
// softmax — a running maximum, a running sum and an f32 output row — rescaling sum and output by
// exp(old max - new max) whenever a tile raises the maximum. Keys a row cannot see are skipped,
// so a NaN there never reaches it. d_qk and d_v are at most 256 (private arrays of 64 vec4).
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

    // Every invocation walks every tile (barriers need uniform control flow).
    for (var key0 = 0u; key0 < p.len_kv; key0 += TILE_KEYS) {
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
            for (var kk = 0u; kk < TILE_KEYS; kk++) {
                var acc = s[kk];
                for (var dd = 0u; dd < CHUNK4; dd++) {
                    acc = acc + dot(q[c0 + dd], k_tile[kk * CHUNK4 + dd]);
                }
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
