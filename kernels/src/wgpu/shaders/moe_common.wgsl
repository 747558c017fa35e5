// The expert of row `row` of the m-grouped contiguous layout, or -1 for a padding row (or a row
// past the end). With m_indices (grouping 0) it is the row's entry; with prefix-sum offsets
// (grouping 1) expert e owns rows [align(end[e - 1]), end[e]), end[-1] = 0, and the rows between
// an end and the next aligned start are padding. `p: Params` and `load_groups` are generated.
fn expert_of(row: u32) -> i32 {
    if (p.grouping == 0u) {
        let e = bitcast<i32>(load_groups(row));
        return select(-1, e, e >= 0 && u32(e) < p.experts);
    }
    var start = 0u;
    for (var e = 0u; e < p.experts; e++) {
        let end = load_groups(e);
        if (row < end) {
            return select(-1, i32(e), row >= start);
        }
        start = (end + p.alignment - 1u) / p.alignment * p.alignment;
    }
    return -1;
}
