// Tiled indexer logits: a workgroup of 64 invocations per (query, tile of 64 keys). Head by head,
// the workgroup stages the query's row for that head in workgroup memory once (64 keys share
// it) and each invocation dots it with its own key; relu, times the head's weight, summed over
// heads in order in f32, then `finish` (the FP8 key scale). Keys outside [ks, ke) get −∞. Every
// invocation reaches every barrier; d is at most MAX_D.

const LANES: u32 = 64u;
const MAX_D: u32 = 256u;

var<workgroup> q_tile: array<f32, MAX_D>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let query = wg.y;
    let key = wg.x * LANES + li;
    let r = key_range(query);
    let live = key < p.len_kv && key >= r.x && key < r.y;
    var sum = 0.0;
    for (var h = 0u; h < p.heads; h++) {
        let q_base = (query * p.heads + h) * p.d;
        for (var c = li; c < p.d; c += LANES) {
            q_tile[c] = q_at(q_base + c);
        }
        workgroupBarrier();
        if (live) {
            var dot = 0.0;
            for (var c = 0u; c < p.d; c++) {
                dot = dot + q_tile[c] * k_at(key * p.d + c);
            }
            sum = sum + max(dot, 0.0) * load_w(query * p.heads + h);
        }
        workgroupBarrier();
    }
    if (key < p.len_kv) {
        if (live) {
            store_logits(query * p.len_kv + key, finish(key, sum));
        } else {
            store_logits(query * p.len_kv + key, masked());
        }
    }
}
