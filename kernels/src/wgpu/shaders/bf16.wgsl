// bfloat16 rounding with integer operations: f32 -> bf16 bits, round to nearest, ties to even.
// NaN stays a quiet NaN with its sign; values past the bf16 range round to infinity.
fn f32_to_bf16_bits(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return (b >> 16u) | 0x40u;
    }
    let tie_to_even = (b >> 16u) & 1u;
    return (b + 0x7fffu + tie_to_even) >> 16u;
}
