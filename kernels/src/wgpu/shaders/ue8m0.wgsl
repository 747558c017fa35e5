// UE8M0 scale bytes of DeepSeek's FP8 layouts (DeepGEMM's `use_ue8m0`): a power of two 2^(b - 127).

// DeepGEMM's ceil_to_ue8m0 of sf >= 0: the exponent field, plus one when any mantissa bit is
// set, kept within 1 ... 254 (NaN and inf land on 254).
fn ceil_to_ue8m0(sf: f32) -> u32 {
    let b = bitcast<u32>(sf) & 0x7fffffffu;
    var exponent_field = b >> 23u;
    if ((b & 0x7fffffu) != 0u) {
        exponent_field = exponent_field + 1u;
    }
    return clamp(exponent_field, 1u, 254u);
}

// 2^(b - 127) as f32: NaN for 0xff, the subnormal 2^-127 for 0 (the encoder writes 1 ... 254,
// normal powers of two).
fn ue8m0_value(b: u32) -> f32 {
    if (b == 0xffu) {
        return bitcast<f32>(0x7fc00000u);
    }
    if (b == 0u) {
        return bitcast<f32>(0x400000u);
    }
    return bitcast<f32>(b << 23u);
}
