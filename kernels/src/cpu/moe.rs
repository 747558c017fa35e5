//! CPU MoE kernels: the grouped GEMMs (contiguous and masked layouts, float and FP8 operands)
//! and the routed combination, each naive (one f32 dot product per output element, in order) and
//! optimised (each expert's rows through the cache-blocked, threaded matmul block). The routing
//! metadata is decoded here from its definition, independently of the oracle's reading of it.

use rayon::prelude::*;

use crosscheck_spec::{
    FP8_TILE, Grouping, HostTensor, KernelError, MoeContiguousProblem, MoeMaskedProblem,
    MoeRoutedProblem, Padding, Problem, QuantFormat,
};

use super::convert::row_major_f32;
use super::matmul_tiled;
use super::quant::e4m3;

/// A kernel's result: row-major rows of `width` values, and which rows it wrote (a row left
/// out stays untouched in the output).
pub struct Rows {
    /// Values, rows × width.
    pub values: Vec<f32>,
    /// Values per row.
    pub width: usize,
    /// Whether each row was written.
    pub written: Vec<bool>,
}

/// A MoE kernel.
pub type MoeFn = fn(&Problem, &[&HostTensor]) -> Result<Rows, KernelError>;

fn invalid(what: String) -> KernelError {
    KernelError::InvalidProblem(what)
}

/// Little-endian i32 values of a metadata input.
fn ints(t: &HostTensor) -> Vec<i32> {
    t.bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The expert (or `None`) of every row of a contiguous problem.
fn contiguous_experts(
    p: &MoeContiguousProblem,
    grouping: &HostTensor,
) -> Result<Vec<Option<usize>>, KernelError> {
    let values = ints(grouping);
    match p.grouping {
        Grouping::Indices => values
            .iter()
            .map(|&e| match e {
                -1 => Ok(None),
                e if e >= 0 && (e as usize) < p.experts => Ok(Some(e as usize)),
                e => Err(invalid(format!("m_indices holds {e}"))),
            })
            .collect(),
        Grouping::Offsets => {
            let mut experts = vec![None; p.m];
            let mut start = 0usize;
            for (e, &end) in values.iter().enumerate() {
                let end = usize::try_from(end)
                    .ok()
                    .filter(|&end| end >= start && end <= p.m)
                    .ok_or_else(|| invalid(format!("offsets[{e}] = {end} after {start}")))?;
                for slot in &mut experts[start..end] {
                    *slot = Some(e);
                }
                start = end.div_ceil(p.alignment) * p.alignment;
            }
            Ok(experts)
        }
    }
}

/// The expert (or `None`) of every row of a masked problem ([experts, max_m] rows).
fn masked_experts(
    p: &MoeMaskedProblem,
    masked_m: &HostTensor,
) -> Result<Vec<Option<usize>>, KernelError> {
    let counts = ints(masked_m);
    let mut experts = Vec::with_capacity(p.experts * p.max_m);
    for (e, &count) in counts.iter().enumerate() {
        if count < 0 || count as usize > p.max_m {
            return Err(invalid(format!("masked_m[{e}] = {count}")));
        }
        experts.extend((0..p.max_m).map(|r| (r < count as usize).then_some(e)));
    }
    Ok(experts)
}

/// Fills in the rows no expert owns: zeros, or left unwritten.
fn finish(values: Vec<f32>, width: usize, experts: &[Option<usize>], padding: Padding) -> Rows {
    let written = experts
        .iter()
        .map(|e| e.is_some() || padding == Padding::Zero)
        .collect();
    Rows {
        values,
        width,
        written,
    }
}

/// Float operands: A rows (row-major) and every expert's k×n weights, row-major.
fn float_operands(a: &HostTensor, b: &HostTensor) -> (Vec<f32>, Vec<f32>) {
    (a.to_f32(), row_major_f32(b))
}

/// Naive grouped GEMM: every owned row, one in-order f32 dot product per column.
fn naive_rows(a: &[f32], b: &[f32], experts: &[Option<usize>], n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; experts.len() * n];
    c.par_chunks_mut(n).enumerate().for_each(|(r, out)| {
        let Some(e) = experts[r] else { return };
        let row = &a[r * k..(r + 1) * k];
        let w = &b[e * k * n..(e + 1) * k * n];
        for (j, value) in out.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for (kk, x) in row.iter().enumerate() {
                acc += x * w[kk * n + j];
            }
            *value = acc;
        }
    });
    c
}

/// Rows of C per parallel task of the optimised kernels.
const ROWS_PER_TASK: usize = 32;

/// Optimised grouped GEMM: tasks of up to 32 rows, each cut into runs of one expert, each run
/// through the tiled matmul's cache-blocked register block with that expert's weights.
fn tiled_rows(a: &[f32], b: &[f32], experts: &[Option<usize>], n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; experts.len() * n];
    c.par_chunks_mut(ROWS_PER_TASK * n)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * ROWS_PER_TASK;
            let rows = chunk.len() / n;
            let mut r = 0;
            while r < rows {
                let expert = experts[first + r];
                let mut end = r + 1;
                while end < rows && experts[first + end] == expert {
                    end += 1;
                }
                if let Some(e) = expert {
                    matmul_tiled::block(
                        &a[(first + r) * k..(first + end) * k],
                        &b[e * k * n..(e + 1) * k * n],
                        &mut chunk[r * n..end * n],
                        n,
                        k,
                    );
                }
                r = end;
            }
        });
    c
}

/// FP8 operands decoded: A's codes (rows × k) and scales (rows × k-blocks), and every expert's
/// codes (n × k) and scales (n-blocks × k-blocks), one expert after another.
struct Fp8 {
    a_codes: Vec<f32>,
    a_scales: Vec<f32>,
    w_codes: Vec<f32>,
    w_scales: Vec<f32>,
    k_blocks: usize,
    n_blocks: usize,
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl Fp8 {
    fn decode(
        a: &HostTensor,
        b: &HostTensor,
        rows: usize,
        experts: usize,
        n: usize,
        k: usize,
    ) -> Fp8 {
        let k_blocks = k.div_ceil(FP8_TILE);
        let n_blocks = n.div_ceil(FP8_TILE);
        let (a_scales, a_codes) = a.bytes.split_at(4 * rows * k_blocks);
        let per_expert = QuantFormat::Fp8E4M3Block.encoded_len(n, k);
        let mut w_codes = Vec::with_capacity(experts * n * k);
        let mut w_scales = Vec::with_capacity(experts * n_blocks * k_blocks);
        for e in 0..experts {
            let bytes = &b.bytes[e * per_expert..(e + 1) * per_expert];
            let (scales, codes) = bytes.split_at(4 * n_blocks * k_blocks);
            w_scales.extend(f32s(scales));
            w_codes.extend(codes.iter().map(|&c| e4m3::to_f32(c)));
        }
        Fp8 {
            a_codes: a_codes.iter().map(|&c| e4m3::to_f32(c)).collect(),
            a_scales: f32s(a_scales),
            w_codes,
            w_scales,
            k_blocks,
            n_blocks,
        }
    }

    fn a_scale(&self, row: usize, block: usize) -> f32 {
        self.a_scales[row * self.k_blocks + block]
    }

    fn w_scale(&self, expert: usize, col: usize, block: usize) -> f32 {
        self.w_scales[(expert * self.n_blocks + col / FP8_TILE) * self.k_blocks + block]
    }
}

/// Row `r` of A times column `j` of expert `e`'s weights: per 128-block of k the in-order f32
/// dot of E4M3 codes, times the row's and the weight block's scales, summed in f32.
fn fp8_dot(f: &Fp8, r: usize, e: usize, j: usize, n: usize, k: usize) -> f32 {
    let w = &f.w_codes[(e * n + j) * k..(e * n + j + 1) * k];
    let mut acc = 0.0f32;
    for block in 0..f.k_blocks {
        let ks = block * FP8_TILE..((block + 1) * FP8_TILE).min(k);
        let mut dot = 0.0f32;
        for kk in ks {
            dot += f.a_codes[r * k + kk] * w[kk];
        }
        acc += dot * f.a_scale(r, block) * f.w_scale(e, j, block);
    }
    acc
}

/// Naive FP8 grouped GEMM: per output, [`fp8_dot`].
fn fp8_naive_rows(f: &Fp8, experts: &[Option<usize>], n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; experts.len() * n];
    c.par_chunks_mut(n).enumerate().for_each(|(r, out)| {
        let Some(e) = experts[r] else { return };
        for (j, value) in out.iter_mut().enumerate() {
            *value = fp8_dot(f, r, e, j, n, k);
        }
    });
    c
}

/// Optimised FP8 grouped GEMM: per task of rows and run of one expert, per 128-block of k, the
/// block's code products through the tiled matmul's register block (the expert's codes
/// transposed to k × n once), then scaled by the row's and the weight block's scales and added.
fn fp8_tiled_rows(
    f: &Fp8,
    experts: &[Option<usize>],
    experts_count: usize,
    n: usize,
    k: usize,
) -> Vec<f32> {
    // Each expert's codes as k × n row-major (what the register block reads).
    let used: Vec<bool> = (0..experts_count)
        .map(|e| experts.contains(&Some(e)))
        .collect();
    let transposed: Vec<Vec<f32>> = (0..experts_count)
        .into_par_iter()
        .map(|e| {
            if !used[e] {
                return Vec::new();
            }
            let mut t = vec![0.0f32; k * n];
            for j in 0..n {
                for kk in 0..k {
                    t[kk * n + j] = f.w_codes[(e * n + j) * k + kk];
                }
            }
            t
        })
        .collect();
    let mut c = vec![0.0f32; experts.len() * n];
    c.par_chunks_mut(ROWS_PER_TASK * n)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * ROWS_PER_TASK;
            let rows = chunk.len() / n;
            let mut r = 0;
            while r < rows {
                let expert = experts[first + r];
                let mut end = r + 1;
                while end < rows && experts[first + end] == expert {
                    end += 1;
                }
                if let Some(e) = expert {
                    let count = end - r;
                    let mut a_block = vec![0.0f32; count * FP8_TILE];
                    let mut dots = vec![0.0f32; count * n];
                    for block in 0..f.k_blocks {
                        let k0 = block * FP8_TILE;
                        let width = FP8_TILE.min(k - k0);
                        for i in 0..count {
                            let row = first + r + i;
                            a_block[i * width..(i + 1) * width]
                                .copy_from_slice(&f.a_codes[row * k + k0..row * k + k0 + width]);
                        }
                        dots.fill(0.0);
                        matmul_tiled::block(
                            &a_block[..count * width],
                            &transposed[e][k0 * n..(k0 + width) * n],
                            &mut dots,
                            n,
                            width,
                        );
                        for i in 0..count {
                            let row = first + r + i;
                            let sa = f.a_scale(row, block);
                            let out = &mut chunk[(r + i) * n..(r + i + 1) * n];
                            for (j, value) in out.iter_mut().enumerate() {
                                *value += dots[i * n + j] * sa * f.w_scale(e, j, block);
                            }
                        }
                    }
                }
                r = end;
            }
        });
    c
}

fn routed(problem: &Problem) -> Result<&MoeRoutedProblem, KernelError> {
    match problem {
        Problem::MoeRouted(p) => Ok(p),
        other => Err(invalid(format!("not a routed MoE problem: {}", other.op()))),
    }
}

/// Which row computation a grouped kernel uses.
#[derive(Clone, Copy)]
enum Style {
    Naive,
    Tiled,
}

/// Rows, their experts, the problem's widths and padding: what every grouped kernel needs.
struct Grouped<'a> {
    experts: Vec<Option<usize>>,
    expert_count: usize,
    n: usize,
    k: usize,
    padding: Padding,
    a: &'a HostTensor,
    b: &'a HostTensor,
}

fn grouped_of<'a>(
    problem: &Problem,
    inputs: &[&'a HostTensor],
) -> Result<Grouped<'a>, KernelError> {
    let (experts, expert_count, n, k, padding) = match problem {
        Problem::MoeContiguous(p) => (
            contiguous_experts(p, inputs[2])?,
            p.experts,
            p.n,
            p.k,
            p.padding,
        ),
        Problem::MoeMasked(p) => (
            masked_experts(p, inputs[2])?,
            p.experts,
            p.n,
            p.k,
            p.padding,
        ),
        other => {
            return Err(invalid(format!(
                "not a grouped MoE problem: {}",
                other.op()
            )));
        }
    };
    Ok(Grouped {
        experts,
        expert_count,
        n,
        k,
        padding,
        a: inputs[0],
        b: inputs[1],
    })
}

fn float_grouped(
    problem: &Problem,
    inputs: &[&HostTensor],
    style: Style,
) -> Result<Rows, KernelError> {
    let g = grouped_of(problem, inputs)?;
    let (a, b) = float_operands(g.a, g.b);
    let values = match style {
        Style::Naive => naive_rows(&a, &b, &g.experts, g.n, g.k),
        Style::Tiled => tiled_rows(&a, &b, &g.experts, g.n, g.k),
    };
    Ok(finish(values, g.n, &g.experts, g.padding))
}

fn fp8_grouped(
    problem: &Problem,
    inputs: &[&HostTensor],
    style: Style,
) -> Result<Rows, KernelError> {
    let g = grouped_of(problem, inputs)?;
    let f = Fp8::decode(g.a, g.b, g.experts.len(), g.expert_count, g.n, g.k);
    let values = match style {
        Style::Naive => fp8_naive_rows(&f, &g.experts, g.n, g.k),
        Style::Tiled => fp8_tiled_rows(&f, &g.experts, g.expert_count, g.n, g.k),
    };
    Ok(finish(values, g.n, &g.experts, g.padding))
}

/// Grouped GEMM (contiguous or masked layout), naive.
pub fn grouped_naive(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    float_grouped(problem, inputs, Style::Naive)
}

/// Grouped GEMM (contiguous or masked layout), optimised.
pub fn grouped_tiled(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    float_grouped(problem, inputs, Style::Tiled)
}

/// FP8 grouped GEMM (contiguous or masked layout), naive.
pub fn grouped_fp8(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    fp8_grouped(problem, inputs, Style::Naive)
}

/// FP8 grouped GEMM (contiguous or masked layout), optimised.
pub fn grouped_fp8_tiled(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    fp8_grouped(problem, inputs, Style::Tiled)
}

/// Each token's (expert or None, weight) per slot.
fn slots(
    p: &MoeRoutedProblem,
    ids: &HostTensor,
    weights: &HostTensor,
) -> Result<Vec<(Option<usize>, f32)>, KernelError> {
    ints(ids)
        .into_iter()
        .zip(weights.to_f32())
        .map(|(e, w)| match e {
            -1 => Ok((None, w)),
            e if e >= 0 && (e as usize) < p.experts => Ok((Some(e as usize), w)),
            e => Err(invalid(format!("topk_ids holds {e}"))),
        })
        .collect()
}

/// Routed combination, naive: per token and column, for each slot in order the f32 dot product
/// of X's row with the expert's column, times the weight, added to the output.
pub fn routed_naive(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    let p = routed(problem)?;
    let routes = slots(p, inputs[2], inputs[3])?;
    let (x, w) = float_operands(inputs[0], inputs[1]);
    let (n, k) = (p.n, p.k);
    let mut y = vec![0.0f32; p.tokens * n];
    y.par_chunks_mut(n).enumerate().for_each(|(t, out)| {
        let row = &x[t * k..(t + 1) * k];
        for (j, value) in out.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for &(expert, weight) in &routes[t * p.top_k..(t + 1) * p.top_k] {
                let Some(e) = expert else { continue };
                let b = &w[e * k * n..(e + 1) * k * n];
                let mut dot = 0.0f32;
                for (kk, xv) in row.iter().enumerate() {
                    dot += xv * b[kk * n + j];
                }
                acc += weight * dot;
            }
            *value = acc;
        }
    });
    Ok(Rows {
        written: vec![true; p.tokens],
        values: y,
        width: n,
    })
}

/// Routed combination, optimised: the tokens routed to each expert gathered into a block of
/// rows, multiplied through the tiled matmul's register block (experts in parallel), then per
/// token the slots' rows times their weights summed in slot order.
pub fn routed_tiled(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    let p = routed(problem)?;
    let routes = slots(p, inputs[2], inputs[3])?;
    let (x, w) = float_operands(inputs[0], inputs[1]);
    let (n, k) = (p.n, p.k);
    // Per expert, the slots routed to it and their product rows.
    let per_expert: Vec<(Vec<usize>, Vec<f32>)> = (0..p.experts)
        .into_par_iter()
        .map(|e| {
            let mine: Vec<usize> = (0..routes.len())
                .filter(|&s| routes[s].0 == Some(e))
                .collect();
            if mine.is_empty() {
                return (mine, Vec::new());
            }
            let mut rows = Vec::with_capacity(mine.len() * k);
            for &s in &mine {
                let t = s / p.top_k;
                rows.extend_from_slice(&x[t * k..(t + 1) * k]);
            }
            let mut d = vec![0.0f32; mine.len() * n];
            matmul_tiled::block(&rows, &w[e * k * n..(e + 1) * k * n], &mut d, n, k);
            (mine, d)
        })
        .collect();
    let mut slot_rows: Vec<Option<&[f32]>> = vec![None; routes.len()];
    for (mine, d) in &per_expert {
        for (i, &s) in mine.iter().enumerate() {
            slot_rows[s] = Some(&d[i * n..(i + 1) * n]);
        }
    }
    let mut y = vec![0.0f32; p.tokens * n];
    for (t, out) in y.chunks_mut(n).enumerate() {
        for s in t * p.top_k..(t + 1) * p.top_k {
            let Some(d) = slot_rows[s] else { continue };
            let weight = routes[s].1;
            for (value, dv) in out.iter_mut().zip(d) {
                *value += weight * dv;
            }
        }
    }
    Ok(Rows {
        written: vec![true; p.tokens],
        values: y,
        width: n,
    })
}

/// Routed combination over FP8 operands (X in 1×128 tiles, W in 128×128 blocks), naive: per
/// token and column, for each slot in order [`fp8_dot`] of the token's row with the expert's
/// column (the FP8 grouped GEMM's arithmetic), times the routing weight, added to the output.
pub fn routed_fp8(problem: &Problem, inputs: &[&HostTensor]) -> Result<Rows, KernelError> {
    let p = routed(problem)?;
    if !p.fp8 {
        return Err(invalid("routed fp8 kernel given float operands".into()));
    }
    let routes = slots(p, inputs[2], inputs[3])?;
    let (n, k) = (p.n, p.k);
    let f = Fp8::decode(inputs[0], inputs[1], p.tokens, p.experts, n, k);
    let mut y = vec![0.0f32; p.tokens * n];
    y.par_chunks_mut(n).enumerate().for_each(|(t, out)| {
        for (j, value) in out.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for &(expert, weight) in &routes[t * p.top_k..(t + 1) * p.top_k] {
                let Some(e) = expert else { continue };
                acc += weight * fp8_dot(&f, t, e, j, n, k);
            }
            *value = acc;
        }
    });
    Ok(Rows {
        written: vec![true; p.tokens],
        values: y,
        width: n,
    })
}
