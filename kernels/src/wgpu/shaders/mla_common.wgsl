// What the MLA kernels share: the block table and cache lengths (little-endian i32 in byte
// bindings), a token's place in the page pool, the visible token count of a query, and a
// workgroup reduction over 64 lanes. `p`, `load_q`, `load_kv`, `load_table`, `load_lens` and
// `store_o` are generated; `kv_at` comes from the dense or FP8 layout helper.

const LANES: u32 = 64u;

var<workgroup> partial: array<f32, 64>;

fn i32_at_table(i: u32) -> u32 {
    let a = 4u * i;
    return load_table(a) | (load_table(a + 1u) << 8u) | (load_table(a + 2u) << 16u) | (load_table(a + 3u) << 24u);
}

fn cache_len(b: u32) -> u32 {
    let a = 4u * b;
    return load_lens(a) | (load_lens(a + 1u) << 8u) | (load_lens(a + 2u) << 16u) | (load_lens(a + 3u) << 24u);
}

// Index in the pool (page * page_size + slot) of token t of sequence b.
fn token_index(b: u32, t: u32) -> u32 {
    let page = i32_at_table(b * p.blocks + t / p.page);
    return page * p.page + t % p.page;
}

// Tokens query i sees of a sequence of `len`: all, or (causal, aligned to the end) those at
// positions <= i + len - seq_q.
fn visible(len: u32, i: u32) -> u32 {
    if (p.causal == 0u) {
        return len;
    }
    return u32(clamp(i32(i) + i32(len) - i32(p.seq_q) + 1, 0, i32(len)));
}

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

fn row_scale() -> f32 {
    if (p.default_scale != 0u) {
        return inverseSqrt(f32(p.d_qk));
    }
    return p.scale;
}
