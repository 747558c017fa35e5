// The largest of 64 invocations' values, in every invocation (workgroup of 64).
var<workgroup> wg_partial: array<f32, 64>;

fn workgroup_max(li: u32, value: f32) -> f32 {
    wg_partial[li] = value;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (li < stride && wg_partial[li + stride] > wg_partial[li]) {
            wg_partial[li] = wg_partial[li + stride];
        }
        workgroupBarrier();
    }
    let result = wg_partial[0];
    workgroupBarrier();
    return result;
}

