//! The f64 oracles of the MoE grouped GEMMs, one expert at a time.
//!
//! The routing metadata is read here, independently of any kernel: which rows of the contiguous
//! layout belong to which expert (`m_indices`, or DeepGEMM's prefix-sum offsets), how many rows of
//! each expert the masked layout holds, and which experts each token is routed to. Every expert's
//! rows are then multiplied by its weights with the matmul oracle ([`crate::matmul::matmul`]: exact
//! products summed in f64, with the gauge Σ|a||b|), or, for FP8 operands, by an f64 dot product
//! of the exactly dequantized values.

use crosscheck_spec::{
    Grouping, HostTensor, Layout, MatmulProblem, MoeContiguousProblem, MoeMaskedProblem,
    MoeRoutedProblem, QuantFormat, i32_le_values,
};
use rayon::prelude::*;

use crate::quant;

/// Oracle output of a grouped GEMM: per output element (row-major) its value and gauge, and per
/// output row its expert (`None` for a padding or masked-off row, whose value and gauge are 0).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedReference {
    /// Σ_k a·b in f64 from the exact stored (or dequantized) inputs.
    pub values: Vec<f64>,
    /// Σ_k |a·b|.
    pub gauge: Vec<f64>,
    /// The expert of each output row, or `None` for a row that belongs to none.
    pub row_experts: Vec<Option<usize>>,
}

/// The expert of each of the `m` rows of a contiguous problem, from its grouping input: `Err`
/// names what is malformed (an expert id out of range, offsets that go backwards or past `m`).
pub fn contiguous_rows(
    p: &MoeContiguousProblem,
    grouping: &[u8],
) -> Result<Vec<Option<usize>>, String> {
    let values = i32_le_values(grouping);
    if values.len() != p.grouping_len() {
        return Err(format!(
            "{} holds {} values, the problem needs {}",
            p.grouping.input_name(),
            values.len(),
            p.grouping_len()
        ));
    }
    match p.grouping {
        Grouping::Indices => values
            .iter()
            .enumerate()
            .map(|(row, &e)| match e {
                -1 => Ok(None),
                e if e >= 0 && (e as usize) < p.experts => Ok(Some(e as usize)),
                e => Err(format!(
                    "m_indices[{row}] = {e}: not an expert of {} nor −1",
                    p.experts
                )),
            })
            .collect(),
        Grouping::Offsets => {
            let mut rows = vec![None; p.m];
            let mut start = 0usize;
            for (e, &end) in values.iter().enumerate() {
                if end < 0 || (end as usize) < start || end as usize > p.m {
                    return Err(format!(
                        "offsets[{e}] = {end}: the expert's rows would run from {start} to it \
                         (past m = {} or backwards)",
                        p.m
                    ));
                }
                let end = end as usize;
                rows[start..end].fill(Some(e));
                start = end.next_multiple_of(p.alignment);
            }
            Ok(rows)
        }
    }
}

/// Whether the rows keep the contiguous layout's promise, which DeepGEMM's kernels rely on:
/// every segment starts at a multiple of `alignment` and every aligned block of rows holds one
/// expert's rows first and padding after (or padding only). `Err` names the first row that
/// breaks it.
pub fn check_alignment(rows: &[Option<usize>], alignment: usize) -> Result<(), String> {
    for (block, chunk) in rows.chunks(alignment.max(1)).enumerate() {
        let expert = chunk[0];
        let mut padding = expert.is_none();
        for (i, &r) in chunk.iter().enumerate() {
            match r {
                None => padding = true,
                Some(_) if padding || r != expert => {
                    return Err(format!(
                        "row {} (expert {r:?}) breaks the aligned block starting at row {}",
                        block * alignment + i,
                        block * alignment
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The valid row count of each expert of a masked problem: `Err` for a count past `max_m` or
/// negative.
pub fn masked_counts(p: &MoeMaskedProblem, masked_m: &[u8]) -> Result<Vec<usize>, String> {
    let values = i32_le_values(masked_m);
    if values.len() != p.experts {
        return Err(format!(
            "masked_m holds {} values for {} experts",
            values.len(),
            p.experts
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(e, &c)| {
            if c < 0 || c as usize > p.max_m {
                Err(format!("masked_m[{e}] = {c}: not in 0..={}", p.max_m))
            } else {
                Ok(c as usize)
            }
        })
        .collect()
}

/// The rows `rows` of a row-major `count`×`k` matrix stored in `t`, as a [1, rows, k] tensor.
fn gather_rows(t: &HostTensor, k: usize, rows: &[usize]) -> HostTensor {
    let size = t.precision.bytes();
    let mut bytes = Vec::with_capacity(rows.len() * k * size);
    for &r in rows {
        bytes.extend_from_slice(&t.bytes[r * k * size..(r + 1) * k * size]);
    }
    HostTensor {
        shape: vec![1, rows.len(), k],
        layout: Layout::RowMajor,
        precision: t.precision,
        bytes,
    }
}

/// Expert `e`'s k×n matrix of the stored B ([experts, k, n] in its layout), as a [1, k, n] tensor.
fn expert_matrix(b: &HostTensor, e: usize, k: usize, n: usize) -> HostTensor {
    let size = b.precision.bytes() * k * n;
    HostTensor {
        shape: vec![1, k, n],
        layout: b.layout,
        precision: b.precision,
        bytes: b.bytes[e * size..(e + 1) * size].to_vec(),
    }
}

/// Values and gauges of rows `rows` of A (row-major, k wide) times expert `e`'s weights, by the
/// matmul oracle: row-major, rows × n.
fn expert_product(
    a: &HostTensor,
    b: &HostTensor,
    e: usize,
    rows: &[usize],
    n: usize,
    k: usize,
) -> crate::MatmulReference {
    let problem = MatmulProblem {
        batch: 1,
        m: rows.len(),
        n,
        k,
        a_layout: Layout::RowMajor,
        b_layout: b.layout,
        b_broadcast: false,
    };
    crate::matmul(
        &problem,
        &gather_rows(a, k, rows),
        &expert_matrix(b, e, k, n),
    )
}

/// The exactly dequantized FP8 operands: A's rows (1×128 tiles) and each expert's n×k weights
/// (128×128 blocks), row-major f64.
fn fp8_operands(
    a: &HostTensor,
    b: &HostTensor,
    rows: usize,
    experts: usize,
    n: usize,
    k: usize,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let a_values = quant::dequantize_exact(QuantFormat::Fp8E4M3Tile, rows, k, &a.bytes);
    let per_expert = QuantFormat::Fp8E4M3Block.encoded_len(n, k);
    let b_values = (0..experts)
        .map(|e| {
            quant::dequantize_exact(
                QuantFormat::Fp8E4M3Block,
                n,
                k,
                &b.bytes[e * per_expert..(e + 1) * per_expert],
            )
        })
        .collect();
    (a_values, b_values)
}

/// Fills the output rows of `row_experts` (n wide): each row that has an expert gets its f64 dot
/// products with that expert's rows of `w` (n×k), each sequential in increasing k.
fn fp8_rows(
    a: &[f64],
    w: &[Vec<f64>],
    row_experts: &[Option<usize>],
    n: usize,
    k: usize,
    values: &mut [f64],
    gauge: &mut [f64],
) {
    values
        .par_chunks_mut(n)
        .zip(gauge.par_chunks_mut(n))
        .enumerate()
        .for_each(|(r, (v_row, g_row))| {
            let Some(e) = row_experts[r] else { return };
            let a_row = &a[r * k..(r + 1) * k];
            for (j, (v, g)) in v_row.iter_mut().zip(g_row.iter_mut()).enumerate() {
                let w_row = &w[e][j * k..(j + 1) * k];
                let (mut sum, mut abs) = (0.0f64, 0.0f64);
                for (x, y) in a_row.iter().zip(w_row) {
                    sum += x * y;
                    abs += (x * y).abs();
                }
                *v = sum;
                *g = abs;
            }
        });
}

/// Computes every expert's rows of `row_experts` (A row-major m×k, B [experts, k, n]), leaving
/// the other rows at +0.
fn grouped(
    a: &HostTensor,
    b: &HostTensor,
    row_experts: Vec<Option<usize>>,
    experts: usize,
    n: usize,
    k: usize,
    fp8: bool,
) -> GroupedReference {
    let rows = row_experts.len();
    let mut values = vec![0.0f64; rows * n];
    let mut gauge = vec![0.0f64; rows * n];
    if fp8 {
        let (a_values, w) = fp8_operands(a, b, rows, experts, n, k);
        fp8_rows(&a_values, &w, &row_experts, n, k, &mut values, &mut gauge);
    } else {
        for e in 0..experts {
            let mine: Vec<usize> = (0..rows).filter(|&r| row_experts[r] == Some(e)).collect();
            if mine.is_empty() {
                continue;
            }
            let r = expert_product(a, b, e, &mine, n, k);
            for (i, &row) in mine.iter().enumerate() {
                values[row * n..(row + 1) * n].copy_from_slice(&r.values[i * n..(i + 1) * n]);
                gauge[row * n..(row + 1) * n].copy_from_slice(&r.gauge[i * n..(i + 1) * n]);
            }
        }
    }
    GroupedReference {
        values,
        gauge,
        row_experts,
    }
}

/// The contiguous layout: inputs A, B and the grouping input, in the problem's order.
pub fn contiguous(
    p: &MoeContiguousProblem,
    inputs: &[HostTensor],
) -> Result<GroupedReference, String> {
    let rows = contiguous_rows(p, &inputs[2].bytes)?;
    Ok(grouped(
        &inputs[0], &inputs[1], rows, p.experts, p.n, p.k, p.fp8,
    ))
}

/// The masked layout: inputs A, B and `masked_m`.
pub fn masked(p: &MoeMaskedProblem, inputs: &[HostTensor]) -> Result<GroupedReference, String> {
    let counts = masked_counts(p, &inputs[2].bytes)?;
    let rows = (0..p.experts)
        .flat_map(|e| (0..p.max_m).map(move |r| (e, r)))
        .map(|(e, r)| (r < counts[e]).then_some(e))
        .collect();
    Ok(grouped(
        &inputs[0], &inputs[1], rows, p.experts, p.n, p.k, p.fp8,
    ))
}

/// Oracle output of the routed combination.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedReference {
    /// Σ_j w_j · Σ_k x·b_j in f64, row-major tokens × n.
    pub values: Vec<f64>,
    /// Σ_j |w_j| · Σ_k |x·b_j|.
    pub gauge: Vec<f64>,
}

/// The (expert or `None`, weight) of each token's top-k slots: `Err` for an id that is neither an
/// expert nor −1.
pub fn routes(
    p: &MoeRoutedProblem,
    ids: &[u8],
    weights: &HostTensor,
) -> Result<Vec<(Option<usize>, f32)>, String> {
    let ids = i32_le_values(ids);
    let w = weights.to_f32();
    if ids.len() != p.tokens * p.top_k || w.len() != ids.len() {
        return Err(format!(
            "{} ids and {} weights for {} tokens × top-{}",
            ids.len(),
            w.len(),
            p.tokens,
            p.top_k
        ));
    }
    ids.iter()
        .zip(w)
        .enumerate()
        .map(|(slot, (&e, w))| match e {
            -1 => Ok((None, w)),
            e if e >= 0 && (e as usize) < p.experts => Ok((Some(e as usize), w)),
            e => Err(format!(
                "topk_ids[{}, {}] = {e}: not an expert of {} nor −1",
                slot / p.top_k,
                slot % p.top_k,
                p.experts
            )),
        })
        .collect()
}

/// Per slot, its expert product row (values, gauge), `None` for a dropped slot: each expert's
/// product with the tokens routed to it from the matmul oracle.
fn float_slot_rows(
    p: &MoeRoutedProblem,
    inputs: &[HostTensor],
    routes: &[(Option<usize>, f32)],
) -> Vec<Option<(Vec<f64>, Vec<f64>)>> {
    let (n, k) = (p.n, p.k);
    let mut slot_rows: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None; routes.len()];
    for e in 0..p.experts {
        let slots: Vec<usize> = (0..routes.len())
            .filter(|&s| routes[s].0 == Some(e))
            .collect();
        if slots.is_empty() {
            continue;
        }
        let tokens: Vec<usize> = slots.iter().map(|s| s / p.top_k).collect();
        let r = expert_product(&inputs[0], &inputs[1], e, &tokens, n, k);
        for (i, &s) in slots.iter().enumerate() {
            slot_rows[s] = Some((
                r.values[i * n..(i + 1) * n].to_vec(),
                r.gauge[i * n..(i + 1) * n].to_vec(),
            ));
        }
    }
    slot_rows
}

/// [`float_slot_rows`] for FP8 operands: the f64 dot products of the exactly dequantized X row
/// (1×128 tiles) and the expert's weight rows (128×128 blocks), in increasing k.
fn fp8_slot_rows(
    p: &MoeRoutedProblem,
    inputs: &[HostTensor],
    routes: &[(Option<usize>, f32)],
) -> Vec<Option<(Vec<f64>, Vec<f64>)>> {
    let (n, k) = (p.n, p.k);
    let (x, w) = fp8_operands(&inputs[0], &inputs[1], p.tokens, p.experts, n, k);
    routes
        .par_iter()
        .enumerate()
        .map(|(s, &(expert, _))| {
            let e = expert?;
            let t = s / p.top_k;
            let row = [Some(e)];
            let (mut values, mut gauge) = (vec![0.0f64; n], vec![0.0f64; n]);
            fp8_rows(
                &x[t * k..(t + 1) * k],
                &w,
                &row,
                n,
                k,
                &mut values,
                &mut gauge,
            );
            Some((values, gauge))
        })
        .collect()
}

/// The routed combination: inputs X, W, `topk_ids` and `topk_weights`. Each expert's product with
/// the tokens routed to it comes from the matmul oracle (FP8: f64 dot products of the exactly
/// dequantized operands); the weighted sum over a token's slots is taken in f64 in slot order.
pub fn routed(p: &MoeRoutedProblem, inputs: &[HostTensor]) -> Result<RoutedReference, String> {
    let routes = routes(p, &inputs[2].bytes, &inputs[3])?;
    let n = p.n;
    let slot_rows = if p.fp8 {
        fp8_slot_rows(p, inputs, &routes)
    } else {
        float_slot_rows(p, inputs, &routes)
    };
    let mut values = vec![0.0f64; p.tokens * n];
    let mut gauge = vec![0.0f64; p.tokens * n];
    for t in 0..p.tokens {
        for j in 0..p.top_k {
            let s = t * p.top_k + j;
            let Some((v, g)) = &slot_rows[s] else {
                continue;
            };
            let w = routes[s].1 as f64;
            for c in 0..n {
                values[t * n + c] += w * v[c];
                gauge[t * n + c] += w.abs() * g[c];
            }
        }
    }
    Ok(RoutedReference { values, gauge })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{Padding, Precision, i32_le_bytes};

    fn f32_tensor(shape: Vec<usize>, layout: Layout, values: &[f32]) -> HostTensor {
        HostTensor {
            shape,
            layout,
            precision: Precision::F32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn bytes(values: &[i32]) -> HostTensor {
        let bytes = i32_le_bytes(values);
        HostTensor {
            shape: vec![bytes.len()],
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes,
        }
    }

    fn contiguous_problem(grouping: Grouping) -> MoeContiguousProblem {
        MoeContiguousProblem {
            experts: 3,
            m: 8,
            n: 2,
            k: 2,
            alignment: 2,
            grouping,
            padding: Padding::Zero,
            b_layout: Layout::RowMajor,
            fp8: false,
        }
    }

    /// A = rows (r, 1); expert e's B = [[e + 1, 0], [0, 1]] row-major: C[r] = ((e + 1)·r, 1).
    fn contiguous_inputs(grouping: Vec<i32>) -> Vec<HostTensor> {
        let a: Vec<f32> = (0..8).flat_map(|r| [r as f32, 1.0]).collect();
        let b: Vec<f32> = (0..3)
            .flat_map(|e| [(e + 1) as f32, 0.0, 0.0, 1.0])
            .collect();
        vec![
            f32_tensor(vec![8, 2], Layout::RowMajor, &a),
            f32_tensor(vec![3, 2, 2], Layout::RowMajor, &b),
            bytes(&grouping),
        ]
    }

    #[test]
    fn indices_and_offsets_describe_the_same_rows() {
        // Expert 0: rows 0..3 (row 3 padding), expert 1: none, expert 2: rows 4..5, then padding.
        let idx = contiguous(
            &contiguous_problem(Grouping::Indices),
            &contiguous_inputs(vec![0, 0, 0, -1, 2, -1, -1, -1]),
        )
        .unwrap();
        let psum = contiguous(
            &contiguous_problem(Grouping::Offsets),
            &contiguous_inputs(vec![3, 4, 5]),
        )
        .unwrap();
        assert_eq!(idx, psum);
        let expected_rows = [Some(0), Some(0), Some(0), None, Some(2), None, None, None];
        assert_eq!(idx.row_experts, expected_rows);
        assert_eq!(idx.values[2 * 2..3 * 2], [2.0, 1.0]);
        assert_eq!(idx.values[4 * 2..5 * 2], [12.0, 1.0]);
        assert_eq!(idx.values[3 * 2..4 * 2], [0.0, 0.0]);
        assert!(check_alignment(&idx.row_experts, 2).is_ok());
        assert!(check_alignment(&idx.row_experts, 8).is_err());
    }

    #[test]
    fn malformed_metadata_is_refused() {
        let p = contiguous_problem(Grouping::Indices);
        assert!(contiguous(&p, &contiguous_inputs(vec![0, 0, 0, 3, 2, -1, -1, -1])).is_err());
        let p = contiguous_problem(Grouping::Offsets);
        assert!(contiguous(&p, &contiguous_inputs(vec![3, 1, 5])).is_err());
        assert!(contiguous(&p, &contiguous_inputs(vec![3, 4, 9])).is_err());
    }

    #[test]
    fn masked_rows_past_their_count_are_none() {
        let p = MoeMaskedProblem {
            experts: 2,
            max_m: 3,
            n: 1,
            k: 1,
            padding: Padding::Untouched,
            b_layout: Layout::ColMajor,
            fp8: false,
        };
        let inputs = vec![
            f32_tensor(
                vec![2, 3, 1],
                Layout::RowMajor,
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            ),
            f32_tensor(vec![2, 1, 1], Layout::ColMajor, &[10.0, 100.0]),
            bytes(&[2, 0]),
        ];
        let r = masked(&p, &inputs).unwrap();
        assert_eq!(r.values, vec![10.0, 20.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(
            r.row_experts,
            vec![Some(0), Some(0), None, None, None, None]
        );
        let too_many = vec![inputs[0].clone(), inputs[1].clone(), bytes(&[4, 0])];
        assert!(masked(&p, &too_many).is_err());
    }

    #[test]
    fn routed_sums_weighted_expert_outputs_and_skips_minus_one() {
        let p = MoeRoutedProblem {
            tokens: 2,
            experts: 3,
            top_k: 2,
            n: 1,
            k: 2,
            b_layout: Layout::RowMajor,
            fp8: false,
        };
        // W_e = [[e + 1], [1]]: X[t]·W_e = (e + 1)·x0 + x1.
        let inputs = vec![
            f32_tensor(vec![2, 2], Layout::RowMajor, &[1.0, 1.0, 2.0, 0.0]),
            f32_tensor(
                vec![3, 2, 1],
                Layout::RowMajor,
                &[1.0, 1.0, 2.0, 1.0, 3.0, 1.0],
            ),
            bytes(&[0, 2, -1, 1]),
            f32_tensor(vec![2, 2], Layout::RowMajor, &[0.5, 0.25, 9.0, 2.0]),
        ];
        let r = routed(&p, &inputs).unwrap();
        // Token 0: 0.5·2 + 0.25·4 = 2; token 1: slot 0 skipped, 2·(2·2) = 8.
        assert_eq!(r.values, vec![2.0, 8.0]);
        assert_eq!(r.gauge, vec![2.0, 8.0]);
    }

    #[test]
    fn fp8_rows_use_the_dequantized_operands() {
        let p = MoeMaskedProblem {
            experts: 2,
            max_m: 1,
            n: 1,
            k: 130,
            padding: Padding::Zero,
            b_layout: Layout::ColMajor,
            fp8: true,
        };
        let x: Vec<f32> = (0..260).map(|i| ((i % 7) as f32 - 3.0) / 4.0).collect();
        let w: Vec<f32> = (0..130).map(|i| ((i % 5) as f32 - 2.0) / 2.0).collect();
        let a = quant::encode(QuantFormat::Fp8E4M3Tile, 2, 130, &x);
        let mut b = quant::encode(QuantFormat::Fp8E4M3Block, 1, 130, &w);
        b.extend(quant::encode(QuantFormat::Fp8E4M3Block, 1, 130, &w));
        let raw = |bytes: Vec<u8>| HostTensor {
            shape: vec![bytes.len()],
            layout: Layout::RowMajor,
            precision: Precision::U8,
            bytes,
        };
        let r = masked(&p, &[raw(a.clone()), raw(b), bytes(&[1, 1])]).unwrap();
        let av = quant::dequantize_exact(QuantFormat::Fp8E4M3Tile, 2, 130, &a);
        let wv = quant::dequantize_exact(QuantFormat::Fp8E4M3Block, 1, 130, &b_one(&w));
        for e in 0..2 {
            let want: f64 = (0..130).map(|i| av[e * 130 + i] * wv[i]).sum();
            assert_eq!(r.values[e], want);
        }
    }

    fn b_one(w: &[f32]) -> Vec<u8> {
        quant::encode(QuantFormat::Fp8E4M3Block, 1, w.len(), w)
    }
}
