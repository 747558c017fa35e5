// K-quant quantization (p.kind: 0 Q4_K, 1 Q5_K, 2 Q6_K) as ggml's quantize_row_q*_K_ref, with
// make_qkx2_quants (Q4_K, Q5_K) and make_qx_quants (Q6_K, rmse_type 1): a workgroup of 16 per
// super-block of 256. Lane j fits sub-block j (8 of 32 or 16 of 16) by ggml's search, then every
// lane derives the super-block scales and requantizes 16 values against the stored scales, and
// the lanes write the bytes. Every f32 operation of ggml's is done, in ggml's order, by the
// integer IEEE arithmetic of softfloat.wgsl: no WGSL float arithmetic touches a value (the only
// float operations left are exact conversions with normal results: small integers to f32, and
// f16_to_f32's m · 2^-24 for a subnormal f16), so the bytes do not depend on the driver's
// division accuracy, fused multiply-adds, subnormal flushing or finite-math assumptions. Inputs
// are read with bitcast only.
// `p: Params` (count = super-blocks), `load_x`, `store_out` (bytes) and the helpers are generated.

// Codes of the super-block's 256 values; the fitted scale and (negated) min of each sub-block.
var<workgroup> kq_codes: array<u32, 256>;
var<workgroup> kq_fit_scale: array<u32, 16>;
var<workgroup> kq_fit_min: array<u32, 16>;

const KQ_63: u32 = 0x427c0000u;
const KQ_TENTH: u32 = 0x3dcccccdu; // 0.1f
const KQ_EPS: u32 = 0x26901d7du; // 1e-15f, ggml's GROUP_MAX_EPS

fn kq_x(i: u32) -> u32 {
    return bitcast<u32>(load_x(i));
}

// The searches run as state machines that issue one f32 operation per loop iteration, so that
// each operation of softfloat.wgsl is compiled once per search rather than once per place ggml
// uses it (Mesa inlines every call: the straight-line version took minutes to compile on GL).
// A state consumes the result `r` of the operation the previous state issued and issues the next.
const KQ_OP_ADD: u32 = 0u;
const KQ_OP_MUL: u32 = 1u;
const KQ_OP_DIV: u32 = 2u;
const KQ_OP_SQRT: u32 = 3u;
const KQ_MAGIC: u32 = 0x4b400000u; // 1.5 · 2^23, nearest_int's addend
const KQ_DONE: u32 = 0xffffffffu;

var<private> kq_op: u32;
var<private> kq_a: u32;
var<private> kq_b: u32;
var<private> kq_state: u32;

fn kq_issue(op: u32, a: u32, b: u32, next: u32) {
    kq_op = op;
    kq_a = a;
    kq_b = b;
    kq_state = next;
}

fn kq_exec() -> u32 {
    switch kq_op {
        case 0u: {
            return sf_add(kq_a, kq_b);
        }
        case 1u: {
            return sf_mul(kq_a, kq_b);
        }
        case 2u: {
            return sf_div(kq_a, kq_b);
        }
        default: {
            return sf_sqrt(kq_a);
        }
    }
}

// nearest_int from r = f + 1.5 · 2^23 (rounded to f32).
fn kq_nint(r: u32) -> i32 {
    return i32(r & 0x7fffffu) - 0x400000;
}

// make_qkx2_quants's state (one sub-block of 32 per lane).
var<private> ka_x: array<u32, 32>;
var<private> ka_w: array<u32, 32>;
var<private> ka_trial: array<u32, 32>;
var<private> ka_i: u32;
var<private> ka_step: u32;
var<private> ka_first: bool; // the pass over the first codes (errors into best), else a candidate
var<private> ka_lo: u32;
var<private> ka_hi: u32;
var<private> ka_sum_w: u32;
var<private> ka_sum_x: u32;
var<private> ka_iscale: u32;
var<private> ka_scale: u32;
var<private> ka_offset: u32;
var<private> ka_best: u32;
var<private> ka_sl: u32;
var<private> ka_sl2: u32;
var<private> ka_sxl: u32;
var<private> ka_wl: u32;
var<private> ka_q: u32;
var<private> ka_det: u32;
var<private> ka_ts: u32;
var<private> ka_tm: u32;
var<private> ka_err: u32;
var<private> ka_t: u32;

// States of the affine search.
const KA_SQ: u32 = 0u;
const KA_SQ_ACC: u32 = 1u;
const KA_AVG: u32 = 2u;
const KA_SQRT: u32 = 3u;
const KA_W: u32 = 4u;
const KA_SX0: u32 = 5u;
const KA_SW: u32 = 6u;
const KA_WX: u32 = 7u;
const KA_SX: u32 = 8u;
const KA_RANGE: u32 = 9u;
const KA_ISCALE0: u32 = 10u;
const KA_SCALE0: u32 = 11u;
const KA_CODE_SUB: u32 = 12u;
const KA_CODE_MUL: u32 = 13u;
const KA_CODE: u32 = 14u;
const KA_WL: u32 = 15u;
const KA_SL: u32 = 16u;
const KA_WLL: u32 = 17u;
const KA_SL2: u32 = 18u;
const KA_WLX: u32 = 19u;
const KA_SXL: u32 = 20u;
const KA_D1: u32 = 21u;
const KA_DET: u32 = 22u;
const KA_N1: u32 = 23u;
const KA_N2: u32 = 24u;
const KA_N3: u32 = 25u;
const KA_TS: u32 = 26u;
const KA_M1: u32 = 27u;
const KA_M2: u32 = 28u;
const KA_M3: u32 = 29u;
const KA_TM: u32 = 30u;
const KA_TS2: u32 = 31u;
const KA_E_MUL: u32 = 32u;
const KA_E_ADD: u32 = 33u;
const KA_E_SUB: u32 = 34u;
const KA_E_SQ: u32 = 35u;
const KA_E_W: u32 = 36u;
const KA_E_ACC: u32 = 37u;
const KA_P1: u32 = 38u;
const KA_P2: u32 = 39u;
const KA_P3: u32 = 40u;
const KA_P4: u32 = 41u;
const KA_P5: u32 = 42u;
const KA_TS_REFIT: u32 = 43u;

// Codes of value ka_i: x - offset, then iscale · that, then nearest_int.
fn ka_code_value() {
    kq_issue(KQ_OP_ADD, ka_x[ka_i], sf_neg(ka_offset), KA_CODE_SUB);
}

// The weighted squared error of value ka_i: scale · q first.
fn ka_error_value(scale: u32, q: u32) {
    kq_issue(KQ_OP_MUL, scale, sf_int(i32(q)), KA_E_MUL);
}

// Step ka_step's reciprocal scale (rmin + 0.1 · step + nmax) / (max - offset), or the end.
fn ka_step_begin(nstep: u32) {
    if (ka_step > nstep) {
        kq_state = KQ_DONE;
        return;
    }
    ka_first = false;
    kq_issue(KQ_OP_MUL, KQ_TENTH, sf_int(i32(ka_step)), KA_P1);
}

fn ka_candidate_end(nstep: u32) {
    ka_step = ka_step + 1u;
    ka_step_begin(nstep);
}

// make_qkx2_quants over the 32 values at `first` with weights av_x + |x| (av_x the root mean
// square): codes into kq_codes at `at`; returns (scale, -min).
fn kq_fit_affine(first: u32, at: u32, nmax: i32, rmin: u32, nstep: u32) -> vec2<u32> {
    for (var i = 0u; i < 32u; i++) {
        ka_x[i] = kq_x(first + i);
    }
    var sum_x2 = 0u;
    var av_x = 0u;
    ka_i = 0u;
    kq_issue(KQ_OP_MUL, ka_x[0], ka_x[0], KA_SQ);
    loop {
        let r = kq_exec();
        let i = ka_i;
        switch kq_state {
            case KA_SQ: {
                kq_issue(KQ_OP_ADD, sum_x2, r, KA_SQ_ACC);
            }
            case KA_SQ_ACC: {
                sum_x2 = r;
                ka_i = i + 1u;
                if (ka_i < 32u) {
                    kq_issue(KQ_OP_MUL, ka_x[ka_i], ka_x[ka_i], KA_SQ);
                } else {
                    kq_issue(KQ_OP_DIV, sum_x2, 0x42000000u, KA_AVG);
                }
            }
            case KA_AVG: {
                kq_issue(KQ_OP_SQRT, r, 0u, KA_SQRT);
            }
            case KA_SQRT: {
                av_x = r;
                ka_i = 0u;
                kq_issue(KQ_OP_ADD, av_x, ka_x[0] & 0x7fffffffu, KA_W);
            }
            case KA_W: {
                ka_w[i] = r;
                ka_i = i + 1u;
                if (ka_i < 32u) {
                    kq_issue(KQ_OP_ADD, av_x, ka_x[ka_i] & 0x7fffffffu, KA_W);
                } else {
                    ka_lo = ka_x[0];
                    ka_hi = ka_x[0];
                    ka_sum_w = ka_w[0];
                    kq_issue(KQ_OP_MUL, ka_sum_w, ka_x[0], KA_SX0);
                }
            }
            case KA_SX0: {
                ka_sum_x = r;
                ka_i = 1u;
                kq_issue(KQ_OP_ADD, ka_sum_w, ka_w[1], KA_SW);
            }
            case KA_SW: {
                ka_sum_w = r;
                if (sf_lt(ka_x[i], ka_lo)) {
                    ka_lo = ka_x[i];
                }
                if (sf_lt(ka_hi, ka_x[i])) {
                    ka_hi = ka_x[i];
                }
                kq_issue(KQ_OP_MUL, ka_w[i], ka_x[i], KA_WX);
            }
            case KA_WX: {
                kq_issue(KQ_OP_ADD, ka_sum_x, r, KA_SX);
            }
            case KA_SX: {
                ka_sum_x = r;
                ka_i = i + 1u;
                if (ka_i < 32u) {
                    kq_issue(KQ_OP_ADD, ka_sum_w, ka_w[ka_i], KA_SW);
                } else {
                    if (sf_lt(0u, ka_lo)) {
                        ka_lo = 0u;
                    }
                    if (sf_eq(ka_hi, ka_lo)) {
                        for (var j = 0u; j < 32u; j++) {
                            kq_codes[at + j] = 0u;
                        }
                        return vec2<u32>(0u, sf_neg(ka_lo));
                    }
                    kq_issue(KQ_OP_ADD, ka_hi, sf_neg(ka_lo), KA_RANGE);
                }
            }
            case KA_RANGE: {
                kq_issue(KQ_OP_DIV, sf_int(nmax), r, KA_ISCALE0);
            }
            case KA_ISCALE0: {
                ka_iscale = r;
                kq_issue(KQ_OP_DIV, SF_ONE, r, KA_SCALE0);
            }
            case KA_SCALE0: {
                ka_scale = r;
                ka_offset = ka_lo;
                ka_best = 0u;
                ka_first = true;
                ka_i = 0u;
                ka_code_value();
            }
            case KA_CODE_SUB: {
                kq_issue(KQ_OP_MUL, ka_iscale, r, KA_CODE_MUL);
            }
            case KA_CODE_MUL: {
                kq_issue(KQ_OP_ADD, r, KQ_MAGIC, KA_CODE);
            }
            case KA_CODE: {
                ka_q = u32(clamp(kq_nint(r), 0, nmax));
                if (ka_first) {
                    kq_codes[at + i] = ka_q;
                    ka_error_value(ka_scale, ka_q);
                } else {
                    ka_trial[i] = ka_q;
                    kq_issue(KQ_OP_MUL, ka_w[i], sf_int(i32(ka_q)), KA_WL);
                }
            }
            case KA_WL: {
                ka_wl = r;
                kq_issue(KQ_OP_ADD, ka_sl, r, KA_SL);
            }
            case KA_SL: {
                ka_sl = r;
                kq_issue(KQ_OP_MUL, ka_wl, sf_int(i32(ka_q)), KA_WLL);
            }
            case KA_WLL: {
                kq_issue(KQ_OP_ADD, ka_sl2, r, KA_SL2);
            }
            case KA_SL2: {
                ka_sl2 = r;
                kq_issue(KQ_OP_MUL, ka_wl, ka_x[i], KA_WLX);
            }
            case KA_WLX: {
                kq_issue(KQ_OP_ADD, ka_sxl, r, KA_SXL);
            }
            case KA_SXL: {
                ka_sxl = r;
                ka_i = i + 1u;
                if (ka_i < 32u) {
                    ka_code_value();
                } else {
                    kq_issue(KQ_OP_MUL, ka_sum_w, ka_sl2, KA_D1);
                }
            }
            case KA_D1: {
                ka_t = r;
                kq_issue(KQ_OP_MUL, ka_sl, ka_sl, KA_DET);
            }
            case KA_DET: {
                kq_issue(KQ_OP_ADD, ka_t, sf_neg(r), KA_N1);
            }
            case KA_N1: {
                ka_det = r;
                if (sf_lt(0u, ka_det)) {
                    kq_issue(KQ_OP_MUL, ka_sum_w, ka_sxl, KA_N2);
                } else {
                    ka_candidate_end(nstep);
                }
            }
            case KA_N2: {
                ka_t = r;
                kq_issue(KQ_OP_MUL, ka_sum_x, ka_sl, KA_N3);
            }
            case KA_N3: {
                kq_issue(KQ_OP_ADD, ka_t, sf_neg(r), KA_TS);
            }
            case KA_TS: {
                kq_issue(KQ_OP_DIV, r, ka_det, KA_M1);
            }
            case KA_M1: {
                ka_ts = r;
                kq_issue(KQ_OP_MUL, ka_sl2, ka_sum_x, KA_M2);
            }
            case KA_M2: {
                ka_t = r;
                kq_issue(KQ_OP_MUL, ka_sl, ka_sxl, KA_M3);
            }
            case KA_M3: {
                kq_issue(KQ_OP_ADD, ka_t, sf_neg(r), KA_TM);
            }
            case KA_TM: {
                kq_issue(KQ_OP_DIV, r, ka_det, KA_TS2);
            }
            case KA_TS2: {
                ka_tm = r;
                if (sf_lt(0u, ka_tm)) {
                    ka_tm = 0u;
                    kq_issue(KQ_OP_DIV, ka_sxl, ka_sl2, KA_TS_REFIT);
                } else {
                    ka_err = 0u;
                    ka_i = 0u;
                    ka_error_value(ka_ts, ka_trial[0]);
                }
            }
            case KA_TS_REFIT: { // the refitted scale
                ka_ts = r;
                ka_err = 0u;
                ka_i = 0u;
                ka_error_value(ka_ts, ka_trial[0]);
            }
            case KA_E_MUL: {
                kq_issue(KQ_OP_ADD, r, select(ka_tm, ka_offset, ka_first), KA_E_ADD);
            }
            case KA_E_ADD: {
                kq_issue(KQ_OP_ADD, r, sf_neg(ka_x[i]), KA_E_SUB);
            }
            case KA_E_SUB: {
                kq_issue(KQ_OP_MUL, r, r, KA_E_SQ);
            }
            case KA_E_SQ: {
                kq_issue(KQ_OP_MUL, ka_w[i], r, KA_E_W);
            }
            case KA_E_W: {
                kq_issue(KQ_OP_ADD, select(ka_err, ka_best, ka_first), r, KA_E_ACC);
            }
            case KA_E_ACC: {
                ka_i = i + 1u;
                if (ka_first) {
                    ka_best = r;
                    if (ka_i < 32u) {
                        ka_code_value();
                    } else {
                        ka_step = 0u;
                        ka_step_begin(nstep);
                    }
                } else {
                    ka_err = r;
                    if (ka_i < 32u) {
                        ka_error_value(ka_ts, ka_trial[ka_i]);
                    } else {
                        if (sf_lt(ka_err, ka_best)) {
                            for (var j = 0u; j < 32u; j++) {
                                kq_codes[at + j] = ka_trial[j];
                            }
                            ka_best = ka_err;
                            ka_scale = ka_ts;
                            ka_offset = ka_tm;
                        }
                        ka_candidate_end(nstep);
                    }
                }
            }
            case KA_P1: {
                kq_issue(KQ_OP_ADD, rmin, r, KA_P2);
            }
            case KA_P2: {
                kq_issue(KQ_OP_ADD, r, sf_int(nmax), KA_P3);
            }
            case KA_P3: {
                ka_t = r;
                kq_issue(KQ_OP_ADD, ka_hi, sf_neg(ka_offset), KA_P4);
            }
            case KA_P4: {
                kq_issue(KQ_OP_DIV, ka_t, r, KA_P5);
            }
            case KA_P5: {
                ka_iscale = r;
                ka_sl = 0u;
                ka_sl2 = 0u;
                ka_sxl = 0u;
                ka_i = 0u;
                ka_code_value();
            }
            default: {}
        }
        if (kq_state == KQ_DONE) {
            break;
        }
    }
    return vec2<u32>(ka_scale, sf_neg(ka_offset));
}
// The 6-bit code of a fitted scale or min: nearest_int(inv · v) kept as a byte (ggml's uint8_t),
// then at most 63.
fn kq_six_bit(inv: u32, v: u32) -> u32 {
    return min(u32(sf_nearest_int(sf_mul(inv, v))) & 0xffu, 63u);
}

// 63 / m when m > 0, else 0.
fn kq_inverse63(m: u32) -> u32 {
    if (sf_lt(0u, m)) {
        return sf_div(KQ_63, m);
    }
    return 0u;
}

// Q4_K (p.kind 0) or Q5_K (1): 144 or 176 bytes at out.
fn kq_affine_block(first: u32, out: u32, lane: u32) {
    let q5 = p.kind == 1u;
    let nmax = select(15, 31, q5);
    if (lane < 8u) {
        // rmin -1, 20 steps (Q4_K); -0.5, 15 steps (Q5_K); rdelta 0.1.
        let fit = kq_fit_affine(first + 32u * lane, 32u * lane, nmax, select(0xbf800000u, 0xbf000000u, q5), select(20u, 15u, q5));
        kq_fit_scale[lane] = fit.x;
        kq_fit_min[lane] = fit.y;
    }
    workgroupBarrier();
    var max_scale = 0u;
    var max_min = 0u;
    for (var j = 0u; j < 8u; j++) {
        if (sf_lt(max_scale, kq_fit_scale[j])) {
            max_scale = kq_fit_scale[j];
        }
        if (sf_lt(max_min, kq_fit_min[j])) {
            max_min = kq_fit_min[j];
        }
    }
    let inv_scale = kq_inverse63(max_scale);
    let inv_min = kq_inverse63(max_min);
    let d_bits = f32_to_f16_rne(bitcast<f32>(sf_div(max_scale, KQ_63)));
    let dmin_bits = f32_to_f16_rne(bitcast<f32>(sf_div(max_min, KQ_63)));
    // Requantize this lane's 16 values (half of sub-block lane / 2) against the stored scales.
    let j = lane / 2u;
    let step = sf_mul(bitcast<u32>(f16_to_f32(d_bits)), sf_int(i32(kq_six_bit(inv_scale, kq_fit_scale[j]))));
    if ((step & 0x7fffffffu) != 0u) {
        let offset = sf_mul(bitcast<u32>(f16_to_f32(dmin_bits)), sf_int(i32(kq_six_bit(inv_min, kq_fit_min[j]))));
        for (var i = 16u * lane; i < 16u * lane + 16u; i++) {
            let q = sf_nearest_int(sf_div(sf_add(kq_x(first + i), offset), step));
            kq_codes[i] = u32(clamp(q, 0, nmax));
        }
    }
    workgroupBarrier();
    if (lane == 0u) {
        store_out(out, d_bits & 0xffu);
        store_out(out + 1u, d_bits >> 8u);
        store_out(out + 2u, dmin_bits & 0xffu);
        store_out(out + 3u, dmin_bits >> 8u);
        // Sub-blocks 0..3 in bytes 0..7; 4..7 as low nibbles in bytes 8..11, top bits in 0..7.
        for (var k = 0u; k < 4u; k++) {
            let sc_lo = kq_six_bit(inv_scale, kq_fit_scale[k]);
            let m_lo = kq_six_bit(inv_min, kq_fit_min[k]);
            let sc_hi = kq_six_bit(inv_scale, kq_fit_scale[k + 4u]);
            let m_hi = kq_six_bit(inv_min, kq_fit_min[k + 4u]);
            store_out(out + 4u + k, sc_lo | ((sc_hi >> 4u) << 6u));
            store_out(out + 8u + k, m_lo | ((m_hi >> 4u) << 6u));
            store_out(out + 12u + k, (sc_hi & 0xfu) | ((m_hi & 0xfu) << 4u));
        }
    }
    var qs = out + 16u;
    if (q5) {
        qs = out + 48u;
        // qh: bit 2g of byte l is the fifth bit of value 64g + l, bit 2g + 1 that of 64g + 32 + l.
        for (var l = 2u * lane; l < 2u * lane + 2u; l++) {
            var h = 0u;
            for (var g = 0u; g < 4u; g++) {
                h = h | ((kq_codes[64u * g + l] >> 4u) << (2u * g)) | ((kq_codes[64u * g + l + 32u] >> 4u) << (2u * g + 1u));
            }
            store_out(out + 16u + l, h);
        }
    }
    // Byte l of group g: value 64g + l in the low nibble, 64g + 32 + l in the high one.
    for (var b = 8u * lane; b < 8u * lane + 8u; b++) {
        let g = b / 32u;
        let l = b % 32u;
        store_out(qs + b, (kq_codes[64u * g + l] & 0xfu) | ((kq_codes[64u * g + l + 32u] & 0xfu) << 4u));
    }
}

// make_qx_quants's state (one sub-block of 16 per lane).
var<private> ks_x: array<u32, 16>;
var<private> ks_l: array<i32, 16>;
var<private> ks_i: u32;
var<private> ks_is: i32;
var<private> ks_first: bool; // the first reciprocal scale, else a candidate
var<private> ks_max: u32;
var<private> ks_iscale: u32;
var<private> ks_scale: u32;
var<private> ks_best: u32;
var<private> ks_lx: u32;
var<private> ks_l2: u32;
var<private> ks_w: u32;
var<private> ks_t: u32;

// States of the symmetric search.
const KS_IS0: u32 = 0u;
const KS_MUL: u32 = 1u;
const KS_NINT: u32 = 2u;
const KS_W: u32 = 3u;
const KS_WX: u32 = 4u;
const KS_WXL: u32 = 5u;
const KS_LX: u32 = 6u;
const KS_WL: u32 = 7u;
const KS_WLL: u32 = 8u;
const KS_L2: u32 = 9u;
const KS_SCALE: u32 = 10u;
const KS_BEST: u32 = 11u;
const KS_P1: u32 = 12u;
const KS_P2: u32 = 13u;
const KS_P3: u32 = 14u;
const KS_C1: u32 = 15u;
const KS_C2: u32 = 16u;

// The sums over the 16 values for reciprocal scale ks_iscale, from value 0.
fn ks_moments_begin() {
    ks_lx = 0u;
    ks_l2 = 0u;
    ks_i = 0u;
    kq_issue(KQ_OP_MUL, ks_iscale, ks_x[0], KS_MUL);
}

// The next of the 18 candidates -(32 + 0.1 · is) / max, is = -9..9 but 0, or the end.
fn ks_next_candidate() {
    ks_is = ks_is + 1;
    if (ks_is == 0) {
        ks_is = 1;
    }
    if (ks_is > 9) {
        kq_state = KQ_DONE;
        return;
    }
    ks_first = false;
    kq_issue(KQ_OP_MUL, KQ_TENTH, sf_int(ks_is), KS_P1);
}

// make_qx_quants (nmax 32, rmse_type 1: weights x²) over the 16 values at `first`: codes
// (offset by 32) into kq_codes at `at`; returns the scale.
fn kq_fit_symmetric(first: u32, at: u32) -> u32 {
    ks_max = 0u;
    var amax = 0u;
    for (var i = 0u; i < 16u; i++) {
        ks_x[i] = kq_x(first + i);
        let a = ks_x[i] & 0x7fffffffu;
        if (sf_lt(amax, a)) {
            amax = a;
            ks_max = ks_x[i];
        }
    }
    if (sf_lt(amax, KQ_EPS)) {
        for (var i = 0u; i < 16u; i++) {
            kq_codes[at + i] = 0u;
        }
        return 0u;
    }
    ks_first = true;
    ks_is = -10;
    ks_scale = 0u;
    kq_issue(KQ_OP_DIV, 0xc2000000u, ks_max, KS_IS0); // -nmax / max
    loop {
        let r = kq_exec();
        let i = ks_i;
        switch kq_state {
            case KS_IS0: {
                ks_iscale = r;
                ks_moments_begin();
            }
            case KS_MUL: {
                kq_issue(KQ_OP_ADD, r, KQ_MAGIC, KS_NINT);
            }
            case KS_NINT: {
                ks_l[i] = clamp(kq_nint(r), -32, 31);
                if (ks_first) {
                    kq_codes[at + i] = u32(ks_l[i] + 32);
                }
                kq_issue(KQ_OP_MUL, ks_x[i], ks_x[i], KS_W);
            }
            case KS_W: { // w = x²
                ks_w = r;
                kq_issue(KQ_OP_MUL, r, ks_x[i], KS_WX);
            }
            case KS_WX: {
                kq_issue(KQ_OP_MUL, r, sf_int(ks_l[i]), KS_WXL);
            }
            case KS_WXL: { // sumlx += w · x · l
                kq_issue(KQ_OP_ADD, ks_lx, r, KS_LX);
            }
            case KS_LX: {
                ks_lx = r;
                kq_issue(KQ_OP_MUL, ks_w, sf_int(ks_l[i]), KS_WL);
            }
            case KS_WL: {
                kq_issue(KQ_OP_MUL, r, sf_int(ks_l[i]), KS_WLL);
            }
            case KS_WLL: { // suml2 += w · l · l
                kq_issue(KQ_OP_ADD, ks_l2, r, KS_L2);
            }
            case KS_L2: {
                ks_l2 = r;
                ks_i = i + 1u;
                if (ks_i < 16u) {
                    kq_issue(KQ_OP_MUL, ks_iscale, ks_x[ks_i], KS_MUL);
                } else if (ks_first) {
                    // scale = suml2 ? sumlx / suml2 : 0 (a NaN suml2 counts as true, as in C)
                    if (!sf_eq(ks_l2, 0u)) {
                        kq_issue(KQ_OP_DIV, ks_lx, ks_l2, KS_SCALE);
                    } else {
                        kq_issue(KQ_OP_MUL, 0u, ks_lx, KS_BEST);
                    }
                } else if (sf_lt(0u, ks_l2)) {
                    kq_issue(KQ_OP_MUL, ks_best, ks_l2, KS_C1);
                } else {
                    ks_next_candidate();
                }
            }
            case KS_SCALE: {
                ks_scale = r;
                kq_issue(KQ_OP_MUL, r, ks_lx, KS_BEST);
            }
            case KS_BEST: { // best = scale · sumlx
                ks_best = r;
                ks_next_candidate();
            }
            case KS_P1: {
                kq_issue(KQ_OP_ADD, 0x42000000u, r, KS_P2); // nmax + 0.1 · is
            }
            case KS_P2: {
                kq_issue(KQ_OP_DIV, sf_neg(r), ks_max, KS_P3);
            }
            case KS_P3: {
                ks_iscale = r;
                ks_moments_begin();
            }
            case KS_C1: {
                ks_t = r;
                kq_issue(KQ_OP_MUL, ks_lx, ks_lx, KS_C2);
            }
            case KS_C2: { // sumlx² > best · suml2: take this candidate
                if (sf_lt(ks_t, r)) {
                    for (var j = 0u; j < 16u; j++) {
                        kq_codes[at + j] = u32(ks_l[j] + 32);
                    }
                    kq_issue(KQ_OP_DIV, ks_lx, ks_l2, KS_SCALE);
                } else {
                    ks_next_candidate();
                }
            }
            default: {}
        }
        if (kq_state == KQ_DONE) {
            break;
        }
    }
    return ks_scale;
}
// Q6_K (p.kind 2): 210 bytes at out.
fn kq_q6_block(first: u32, out: u32, lane: u32) {
    kq_fit_scale[lane] = kq_fit_symmetric(first + 16u * lane, 16u * lane);
    workgroupBarrier();
    var max_scale = 0u;
    var max_abs = 0u;
    for (var j = 0u; j < 16u; j++) {
        let a = kq_fit_scale[j] & 0x7fffffffu;
        if (sf_lt(max_abs, a)) {
            max_abs = a;
            max_scale = kq_fit_scale[j];
        }
    }
    let zero = sf_lt(max_abs, KQ_EPS);
    let iscale = sf_div(0xc3000000u, max_scale); // -128 / max_scale
    let d_bits = f32_to_f16_rne(bitcast<f32>(sf_div(SF_ONE, iscale)));
    // MIN(127, nearest_int(iscale · scale)) stored as an int8_t.
    let sc = u32(min(sf_nearest_int(sf_mul(iscale, kq_fit_scale[lane])), 127)) & 0xffu;
    let step = sf_mul(bitcast<u32>(f16_to_f32(d_bits)), sf_int(sext8(sc)));
    if (!zero && (step & 0x7fffffffu) != 0u) {
        for (var i = 16u * lane; i < 16u * lane + 16u; i++) {
            kq_codes[i] = u32(clamp(sf_nearest_int(sf_div(kq_x(first + i), step)), -32, 31) + 32);
        }
    }
    workgroupBarrier();
    if (zero) {
        for (var b = lane; b < 210u; b += 16u) {
            store_out(out + b, 0u);
        }
        return;
    }
    // ql: in half h, byte l holds values l (low) and l + 64 (high), byte 32 + l values l + 32
    // and l + 96; qh byte l the top two bits of l, l + 32, l + 64, l + 96.
    for (var b = 8u * lane; b < 8u * lane + 8u; b++) {
        let h = b / 64u;
        let l = b % 32u;
        let v = 128u * h + l + 32u * ((b % 64u) / 32u);
        store_out(out + b, (kq_codes[v] & 0xfu) | ((kq_codes[v + 64u] & 0xfu) << 4u));
    }
    for (var b = 4u * lane; b < 4u * lane + 4u; b++) {
        let v = 128u * (b / 32u) + b % 32u;
        store_out(out + 128u + b, (kq_codes[v] >> 4u) | ((kq_codes[v + 32u] >> 4u) << 2u) | ((kq_codes[v + 64u] >> 4u) << 4u) | ((kq_codes[v + 96u] >> 4u) << 6u));
    }
    store_out(out + 192u + lane, sc);
    if (lane == 0u) {
        store_out(out + 208u, d_bits & 0xffu);
        store_out(out + 209u, d_bits >> 8u);
    }
}

@compute @workgroup_size(16, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    sf_div_bits = 25u + p.pad2;
    sf_sqrt_bits = 26u + p.pad2;
    let sb = wid.y * 65535u + wid.x;
    if (sb >= p.count) {
        return;
    }
    if (p.kind == 2u) {
        kq_q6_block(sb * 256u, sb * 210u, lane);
    } else {
        kq_affine_block(sb * 256u, sb * select(144u, 176u, p.kind == 1u), lane);
    }
}
