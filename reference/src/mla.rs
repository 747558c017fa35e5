//! The f64 MLA decode oracle and the FP8 KV-cache codec. For each sequence it reads exactly the
//! tokens t < cache_seqlens[b], each from the page the block table names, decodes them exactly
//! (dense values are f32/f16/bf16; an FP8 latent value is an E4M3 code times a power-of-two f32
//! scale, exact in f32), and evaluates attention over them with [`crate::attention`]'s f64 rows
//! (K = the whole token, V = its first d_latent columns, one latent head for every query head).
//! Pages and slots the table does not name for a live token are never touched, so the NaN the
//! harness fills them with cannot reach the oracle. The log-sum-exp is computed from each row's
//! f64 scores.

use crosscheck_spec::{AttentionProblem, HostTensor, Layout, MLA_FP8_TILE, MlaProblem, Precision};

use crate::attention::{AttentionRow, attention};
use crate::codec;
use crate::quant::{e4m3_bits_to_f32, f32_to_e4m3_bits};

/// One output row (batch entry, query head, query) as the oracle computed it.
pub struct MlaRow<'a> {
    /// Flat index of the row's first element in the output (O then LSE, d_latent + 1 values).
    pub output_offset: usize,
    /// The dense attention problem of the row's sequence (len_kv = its cache length), or `None`
    /// when the sequence is empty.
    pub problem: Option<&'a AttentionProblem>,
    /// The row's attention internals (`None` for an empty sequence).
    pub row: Option<&'a AttentionRow<'a>>,
    /// ln Σ exp(score) over the keys the row sees (+∞ when it sees none).
    pub lse: f64,
}

/// Little-endian i32 values of a byte tensor (block tables, cache lengths).
pub fn read_i32s(t: &HostTensor) -> Vec<i32> {
    t.bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The power-of-two scale FlashMLA's quantizer gives a tile of amax: the smallest 2^e ≥
/// max(amax / 448, 10⁻⁴) (its `_cast_scale_inv_to_ue8m0`).
pub fn fp8_tile_scale(amax: f32) -> f32 {
    let wanted = (amax / 448.0).max(1e-4);
    let mut e = wanted.log2().ceil() as i32;
    // log2 may round: make 2^e the smallest power of two at or above `wanted`.
    while crosscheck_spec::pow2_f32(e) < wanted {
        e += 1;
    }
    while e > -126 && crosscheck_spec::pow2_f32(e - 1) >= wanted {
        e -= 1;
    }
    crosscheck_spec::pow2_f32(e)
}

/// One token in FlashMLA's FP8 layout: `values` (d_latent + d_rope f32) become d_latent E4M3
/// codes of value / scale per 128-value tile, the tiles' f32 scales, then the rope values in
/// bf16 (round to nearest even).
pub fn encode_fp8_token(p: &MlaProblem, values: &[f32]) -> Vec<u8> {
    encode_fp8_row(p.d_latent, values)
}

/// [`encode_fp8_token`] for any row whose first `d_latent` values (a multiple of 128) are
/// quantized and the rest kept as bf16 rope (the sparse family's FP8 KV rows too).
pub fn encode_fp8_row(d_latent: usize, values: &[f32]) -> Vec<u8> {
    let (latent, rope) = values.split_at(d_latent);
    let scales: Vec<f32> = latent
        .chunks(MLA_FP8_TILE)
        .map(|tile| fp8_tile_scale(tile.iter().fold(0.0f32, |m, x| m.max(x.abs()))))
        .collect();
    let mut out = Vec::with_capacity(d_latent + 4 * scales.len() + 2 * rope.len());
    for (c, x) in latent.iter().enumerate() {
        out.push(f32_to_e4m3_bits(x / scales[c / MLA_FP8_TILE]));
    }
    for s in &scales {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend(codec::encode(Precision::BF16, rope));
    out
}

/// Decodes one FP8-layout token exactly: code × scale for the latent part, the bf16 rope.
pub fn decode_fp8_token(p: &MlaProblem, bytes: &[u8]) -> Vec<f32> {
    decode_fp8_row(p.d_latent, p.d_rope, bytes)
}

/// [`decode_fp8_token`] for a row of `d_latent` (a multiple of 128) quantized values and
/// `d_rope` bf16 ones.
pub fn decode_fp8_row(d_latent: usize, d_rope: usize, bytes: &[u8]) -> Vec<f32> {
    let tiles = d_latent.div_ceil(MLA_FP8_TILE);
    let scale = |t: usize| {
        let at = d_latent + 4 * t;
        f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    };
    let mut out: Vec<f32> = (0..d_latent)
        .map(|c| e4m3_bits_to_f32(bytes[c]) * scale(c / MLA_FP8_TILE))
        .collect();
    out.extend(codec::decode(
        Precision::BF16,
        &bytes[d_latent + 4 * tiles..][..2 * d_rope],
    ));
    out
}

/// Token `slot` of page `page` of the KV input, decoded exactly to f32.
pub fn token(p: &MlaProblem, kv: &HostTensor, page: usize, slot: usize) -> Vec<f32> {
    let index = page * p.page + slot;
    if p.fp8 {
        let width = p.fp8_token_bytes();
        decode_fp8_token(p, &kv.bytes[index * width..][..width])
    } else {
        let width = p.d_qk() * kv.precision.bytes();
        codec::decode(kv.precision, &kv.bytes[index * width..][..width])
    }
}

/// The page of token `t` of sequence `b`, from the block table.
///
/// # Panics
/// When the table names a page outside the pool (a harness bug: it generates valid tables).
pub fn page_of(p: &MlaProblem, table: &[i32], b: usize, t: usize) -> usize {
    let entry = table[b * p.blocks + t / p.page];
    assert!(
        entry >= 0 && (entry as usize) < p.pool(),
        "block table entry {entry} is outside the pool of {} pages",
        p.pool()
    );
    entry as usize
}

/// The oracle: the output (f64, [batch, heads_q, seq_q, d_latent + 1], O then LSE per row),
/// calling `on_row` for every row in order.
pub fn mla(
    p: &MlaProblem,
    q: &HostTensor,
    kv: &HostTensor,
    table: &HostTensor,
    lens: &HostTensor,
    mut on_row: impl FnMut(&MlaRow),
) -> Vec<f64> {
    let (table, lens) = (read_i32s(table), read_i32s(lens));
    let width = p.d_latent + 1;
    let rows_per_entry = p.heads_q * p.seq_q;
    let mut out = vec![0.0f64; p.batch * rows_per_entry * width];
    let q_entry_bytes = rows_per_entry * p.d_qk() * q.precision.bytes();
    for (b, &len) in lens.iter().enumerate().take(p.batch) {
        assert!(
            len >= 0 && len as usize <= p.blocks * p.page,
            "cache length {len} outside 0..={}",
            p.blocks * p.page
        );
        let len = len as usize;
        let first_row = b * rows_per_entry;
        if len == 0 {
            for r in 0..rows_per_entry {
                let offset = (first_row + r) * width;
                out[offset + p.d_latent] = f64::INFINITY;
                on_row(&MlaRow {
                    output_offset: offset,
                    problem: None,
                    row: None,
                    lse: f64::INFINITY,
                });
            }
            continue;
        }
        let mut k_values = Vec::with_capacity(len * p.d_qk());
        let mut v_values = Vec::with_capacity(len * p.d_latent);
        for t in 0..len {
            let row = token(p, kv, page_of(p, &table, b, t), t % p.page);
            v_values.extend_from_slice(&row[..p.d_latent]);
            k_values.extend(row);
        }
        let dense = AttentionProblem {
            batch: 1,
            heads_q: p.heads_q,
            heads_kv: 1,
            len_q: p.seq_q,
            len_kv: len,
            d_qk: p.d_qk(),
            d_v: p.d_latent,
            causal: p.causal,
            window: None,
            scale_bits: p.scale_bits,
        };
        let f32_tensor = |shape: Vec<usize>, values: &[f32]| HostTensor {
            shape,
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let q_entry = HostTensor {
            shape: dense.q_shape(),
            layout: Layout::RowMajor,
            precision: q.precision,
            bytes: q.bytes[b * q_entry_bytes..][..q_entry_bytes].to_vec(),
        };
        let k = f32_tensor(dense.k_shape(), &k_values);
        let v = f32_tensor(dense.v_shape(), &v_values);
        let mut lse = Vec::with_capacity(rows_per_entry);
        let values = attention(&dense, &q_entry, &k, &v, |row| {
            let r = first_row + row.output_offset / p.d_latent;
            lse.push(log_sum_exp(row.scores));
            on_row(&MlaRow {
                output_offset: r * width,
                problem: Some(&dense),
                row: Some(row),
                lse: lse[lse.len() - 1],
            });
        });
        for (r, (o, l)) in values.chunks_exact(p.d_latent).zip(lse).enumerate() {
            let offset = (first_row + r) * width;
            out[offset..offset + p.d_latent].copy_from_slice(o);
            out[offset + p.d_latent] = l;
        }
    }
    out
}

/// ln Σ exp(s) in f64, shifted by the maximum; +∞ for no scores (FlashMLA's empty rows), NaN
/// when a score is NaN.
pub fn log_sum_exp(scores: &[f64]) -> f64 {
    if scores.is_empty() {
        return f64::INFINITY;
    }
    if scores.iter().any(|s| s.is_nan()) {
        return f64::NAN;
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return if max == f64::NEG_INFINITY {
            f64::INFINITY
        } else {
            max
        };
    }
    max + scores.iter().map(|s| (s - max).exp()).sum::<f64>().ln()
}
