//! MLA inputs: queries, a page pool whose live tokens are drawn and whose every other slot is
//! NaN, a block table that names the pages out of order, and a cache length per sequence.

use crosscheck_reference::mla::encode_fp8_token;
use crosscheck_spec::{HostTensor, Layout, MlaProblem, Precision};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::case::Distribution;
use crate::generate::data::{normal, stream, tensor, uniform};

/// Standard deviation of the raw scores under `LargeLogits`, as for attention.
const LARGE_SCORE_STD: f64 = 3000.0;

/// Cache lengths: the first sequence ends inside its last page (all pages used), the others
/// anywhere in 0..=blocks·page (an empty sequence included).
pub fn lengths(p: &MlaProblem, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let full = p.blocks * p.page;
    (0..p.batch)
        .map(|b| {
            if b == 0 {
                full - rng.random_range(0..p.page)
            } else {
                rng.random_range(0..=full)
            }
        })
        .collect()
}

/// The block table: a random permutation of the pool's pages, `blocks` per sequence; the one
/// page left over is named by no sequence.
pub fn block_table(p: &MlaProblem, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut pages: Vec<usize> = (0..p.pool()).collect();
    pages.shuffle(rng);
    pages.truncate(p.batch * p.blocks);
    pages
}

/// Q, KV, block_table and cache_seqlens for `p`.
pub fn inputs(
    p: &MlaProblem,
    precision: Precision,
    dist: Distribution,
    seed: u64,
) -> Vec<HostTensor> {
    let (mut rq, mut rk, mut rs) = (stream(seed, 0), stream(seed, 1), stream(seed, 2));
    let lens = lengths(p, &mut rs);
    let table = block_table(p, &mut rs);
    let draw: fn(&mut ChaCha8Rng) -> f32 = match dist {
        Distribution::Uniform => uniform,
        _ => normal,
    };
    let sigma = p
        .custom_scale()
        .map_or(1.0 / (p.d_qk() as f64).sqrt(), f64::from);
    // scale · q·k has standard deviation c² · scale · √d for q, k ~ N(0, c²).
    let c = if dist == Distribution::LargeLogits {
        (LARGE_SCORE_STD / (sigma.abs() * (p.d_qk() as f64).sqrt())).sqrt() as f32
    } else {
        1.0
    };
    let q: Vec<f32> = (0..p.q_shape().iter().product::<usize>())
        .map(|_| c * draw(&mut rq))
        .collect();
    // Which (page, slot) holds a live token.
    let mut live = vec![false; p.pool() * p.page];
    for (b, &len) in lens.iter().enumerate() {
        for t in 0..len {
            live[table[b * p.blocks + t / p.page] * p.page + t % p.page] = true;
        }
    }
    let d = p.d_qk();
    let token = |rk: &mut ChaCha8Rng, is_live: bool| -> Vec<f32> {
        if is_live {
            (0..d).map(|_| c * draw(rk)).collect()
        } else {
            vec![f32::NAN; d]
        }
    };
    let kv = if p.fp8 {
        let mut bytes = Vec::with_capacity(live.len() * p.fp8_token_bytes());
        for &is_live in &live {
            if is_live {
                bytes.extend(encode_fp8_token(p, &token(&mut rk, true)));
            } else {
                bytes.extend(nan_fp8_token(p));
            }
        }
        HostTensor {
            shape: p.kv_shape(),
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes,
        }
    } else {
        let values: Vec<f32> = live.iter().flat_map(|&l| token(&mut rk, l)).collect();
        tensor(p.kv_shape(), Layout::RowMajor, precision, &values)
    };
    let i32_bytes = |values: &[usize]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| (v as i32).to_le_bytes())
            .collect()
    };
    let bytes_tensor = |bytes: Vec<u8>| HostTensor {
        shape: vec![bytes.len()],
        layout: Layout::RowMajor,
        precision: Precision::U8,
        bytes,
    };
    vec![
        tensor(p.q_shape(), Layout::RowMajor, precision, &q),
        kv,
        bytes_tensor(i32_bytes(&table)),
        bytes_tensor(i32_bytes(&lens)),
    ]
}

/// An FP8-layout token that is NaN everywhere: NaN codes (0x7f), NaN scales and NaN rope.
fn nan_fp8_token(p: &MlaProblem) -> Vec<u8> {
    let tiles = p.d_latent.div_ceil(crosscheck_spec::MLA_FP8_TILE);
    let mut out = vec![0x7f; p.d_latent];
    for _ in 0..tiles {
        out.extend_from_slice(&f32::NAN.to_le_bytes());
    }
    for _ in 0..p.d_rope {
        out.extend_from_slice(&[0xc0, 0x7f]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_reference::mla::{read_i32s, token};

    #[test]
    fn live_tokens_are_finite_and_everything_else_is_nan() {
        for fp8 in [false, true] {
            let p = MlaProblem {
                batch: 3,
                heads_q: 2,
                seq_q: 1,
                d_latent: 128,
                d_rope: 8,
                page: 5,
                blocks: 3,
                causal: false,
                fp8,
                scale_bits: None,
            };
            let t = inputs(&p, Precision::BF16, Distribution::Normal, 7);
            let (table, lens) = (read_i32s(&t[2]), read_i32s(&t[3]));
            let mut named = vec![false; p.pool() * p.page];
            for b in 0..p.batch {
                for s in 0..lens[b] as usize {
                    let page = table[b * p.blocks + s / p.page] as usize;
                    named[page * p.page + s % p.page] = true;
                }
            }
            let mut pages: Vec<i32> = table.clone();
            pages.sort();
            pages.dedup();
            assert_eq!(pages.len(), p.batch * p.blocks, "pages are distinct");
            for page in 0..p.pool() {
                for slot in 0..p.page {
                    let row = token(&p, &t[1], page, slot);
                    let live = named[page * p.page + slot];
                    assert_eq!(row.iter().all(|x| x.is_finite()), live, "{page} {slot}");
                    assert_eq!(row.iter().all(|x| x.is_nan()), !live, "{page} {slot}");
                }
            }
        }
    }
}
