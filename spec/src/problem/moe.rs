//! The mixture-of-experts grouped GEMMs a DeepSeek-class model runs: DeepGEMM's m-grouped
//! contiguous layout (every expert's rows one after another, segments aligned), its masked
//! layout (a fixed block of rows per expert, of which the first `masked_m[e]` are valid), and
//! the routed combination (each token's top-k expert outputs summed with its routing weights).
//!
//! The routing metadata (`m_indices`, prefix-sum offsets, `masked_m`, top-k ids) are inputs, as
//! in DeepGEMM's API: little-endian i32 values stored as raw bytes. Expert weights B are
//! logically [experts, k, n]; `b_layout` says how each k×n matrix is stored: column-major is
//! DeepGEMM's `nt` ([experts, n, k] in memory, K-major), row-major its `nn`.

use std::fmt;

use super::{InputSpec, ProblemKind, Storage, element_bytes};
use crate::{FP8_TILE, KernelError, Layout, Op, Precision, QuantFormat, Variant};

/// DeepGEMM's alignment of segment starts in the contiguous layout
/// (`get_mk_alignment_for_contiguous_layout()`, its BLOCK_M).
pub const DEEPGEMM_ALIGNMENT: usize = 128;

/// What a grouped GEMM does with output rows that belong to no expert: the padding rows of the
/// contiguous layout and the rows past `masked_m[e]` of the masked layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Padding {
    /// They must come out as zeros (DeepGEMM's `ensure_zero_padding`).
    Zero,
    /// They must be left as they were: the kernel never writes them.
    Untouched,
}

impl Padding {
    /// The tag in case ids: `zero` or `keep`.
    pub fn tag(self) -> &'static str {
        match self {
            Padding::Zero => "zero",
            Padding::Untouched => "keep",
        }
    }

    /// The name in the protocol's JSON: `zero` or `untouched`.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Zero => "zero",
            Padding::Untouched => "untouched",
        }
    }

    /// Parses a tag or a name.
    pub fn parse(s: &str) -> Option<Padding> {
        match s {
            "zero" => Some(Padding::Zero),
            "keep" | "untouched" => Some(Padding::Untouched),
            _ => None,
        }
    }
}

/// How the contiguous layout says which rows belong to which expert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grouping {
    /// `m_indices`: one i32 per row, the row's expert or −1 for a padding row (DeepGEMM's
    /// default `grouped_layout`).
    Indices,
    /// Prefix-sum offsets (DeepGEMM's psum layout): one i32 per expert, the end of its rows;
    /// expert e's rows are `[align(end[e − 1]), end[e])` with `end[−1] = 0`, and the rows between
    /// an end and the next aligned start are padding.
    Offsets,
}

impl Grouping {
    /// The tag in case ids: `idx` or `psum`.
    pub fn tag(self) -> &'static str {
        match self {
            Grouping::Indices => "idx",
            Grouping::Offsets => "psum",
        }
    }

    /// The name in the protocol's JSON: `indices` or `offsets`.
    pub fn name(self) -> &'static str {
        match self {
            Grouping::Indices => "indices",
            Grouping::Offsets => "offsets",
        }
    }

    /// Parses a tag or a name.
    pub fn parse(s: &str) -> Option<Grouping> {
        match s {
            "idx" | "indices" => Some(Grouping::Indices),
            "psum" | "offsets" => Some(Grouping::Offsets),
            _ => None,
        }
    }

    /// The name of the metadata input: `m_indices` or `offsets`.
    pub fn input_name(self) -> &'static str {
        match self {
            Grouping::Indices => "m_indices",
            Grouping::Offsets => "offsets",
        }
    }
}

/// `nt` (B stored [experts, n, k], column-major k×n matrices, DeepGEMM's layout) or `nn`.
pub fn b_layout_tag(layout: Layout) -> &'static str {
    match layout {
        Layout::ColMajor => "nt",
        Layout::RowMajor => "nn",
    }
}

/// Parses [`b_layout_tag`].
pub fn parse_b_layout(tag: &str) -> Option<Layout> {
    match tag {
        "nt" => Some(Layout::ColMajor),
        "nn" => Some(Layout::RowMajor),
        _ => None,
    }
}

/// The m-grouped contiguous GEMM: `C[r] = A[r] · B[expert(r)]` for every row r of A that belongs
/// to an expert; padding rows follow `padding`.
///
/// - A is [m, k] (row-major), B is [experts, k, n] in `b_layout`, C is [m, n] (row-major).
/// - Segments start at multiples of `alignment`; a segment's valid rows come first and its
///   padding rows after, so every aligned block of `alignment` rows belongs to one expert or is
///   padding (what DeepGEMM's kernels rely on: they read a block's expert from its first row).
///   Rows past the last segment are padding too. `m` is a multiple of `alignment`.
/// - With `fp8`, A is FP8 E4M3 with 1×128 scale tiles ([`QuantFormat::Fp8E4M3Tile`] of the
///   m×k matrix) and B is, expert after expert, each n×k matrix (`nt`) in
///   [`QuantFormat::Fp8E4M3Block`] (128×128 scale blocks): DeepGEMM's
///   `m_grouped_fp8_gemm_nt_contiguous`. Without it, A and B are in the variant's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MoeContiguousProblem {
    /// Experts (groups): B's leading dimension.
    pub experts: usize,
    /// Rows of A and C, padding included (DeepGEMM's M = Σ aligned segment lengths).
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Length of every dot product.
    pub k: usize,
    /// Segment starts are multiples of this.
    pub alignment: usize,
    /// How rows are assigned to experts.
    pub grouping: Grouping,
    /// What padding rows of C must hold after the kernel.
    pub padding: Padding,
    /// Layout of each expert's k×n matrix.
    pub b_layout: Layout,
    /// FP8 block-scaled operands.
    pub fp8: bool,
}

/// The m-grouped masked GEMM (for decoding under CUDA graphs): `C[e, r] = A[e, r] · B[e]` for
/// `r < masked_m[e]`; the other rows follow `padding`.
///
/// - A is [experts, max_m, k], B is [experts, k, n] in `b_layout`, C is [experts, max_m, n];
///   `masked_m` holds one i32 per expert in 0..=max_m.
/// - With `fp8`, A is the (experts·max_m)×k matrix in [`QuantFormat::Fp8E4M3Tile`] and B as in
///   [`MoeContiguousProblem`]: DeepGEMM's `m_grouped_fp8_gemm_nt_masked` (whose
///   `expected_m_per_group` is a scheduling hint only, not part of the problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MoeMaskedProblem {
    /// Experts (groups).
    pub experts: usize,
    /// Rows reserved per expert.
    pub max_m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Length of every dot product.
    pub k: usize,
    /// What rows past `masked_m[e]` must hold after the kernel.
    pub padding: Padding,
    /// Layout of each expert's k×n matrix.
    pub b_layout: Layout,
    /// FP8 block-scaled operands.
    pub fp8: bool,
}

/// The routed combination: `Y[t] = Σ_j w[t, j] · (X[t] · W[id[t, j]])` over the token's top-k
/// slots j, skipping slots whose id is −1 (an expert this rank does not hold, as in expert
/// parallelism).
///
/// - X is [tokens, k] (row-major), W is [experts, k, n] in `b_layout`, Y is [tokens, n];
///   `topk_ids` holds tokens × top_k i32 and `topk_weights` tokens × top_k f32 (row-major).
/// - With `fp8`, X is the tokens×k matrix in [`QuantFormat::Fp8E4M3Tile`] (1×128 scales, one
///   tile row per token) and W as B in [`MoeContiguousProblem`] (each expert's n×k matrix in
///   [`QuantFormat::Fp8E4M3Block`], K-major only): the experts' FP8 GEMMs of a DeepSeek MoE
///   layer with the combination fused after them. The routing weights stay f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MoeRoutedProblem {
    /// Tokens (rows of X and Y).
    pub tokens: usize,
    /// Experts: W's leading dimension.
    pub experts: usize,
    /// Experts per token.
    pub top_k: usize,
    /// Columns of W and Y.
    pub n: usize,
    /// Length of every dot product.
    pub k: usize,
    /// Layout of each expert's k×n matrix.
    pub b_layout: Layout,
    /// FP8 block-scaled operands.
    pub fp8: bool,
}

/// Bytes of `count` i32 values, if that fits.
fn i32_bytes(count: usize) -> Option<usize> {
    count.checked_mul(4)
}

/// Bytes of the FP8 weights of `experts` n×k matrices, each in [`QuantFormat::Fp8E4M3Block`].
pub fn fp8_weights_len(experts: usize, n: usize, k: usize) -> usize {
    experts * QuantFormat::Fp8E4M3Block.encoded_len(n, k)
}

/// Checks that no count is 0 and that every byte count fits in usize.
fn check(op: Op, dims: &[(&str, usize)], sizes: &[Option<usize>]) -> Result<(), KernelError> {
    if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
        return Err(KernelError::InvalidProblem(format!("{op}: {name} is 0")));
    }
    if sizes.iter().any(Option::is_none) {
        return Err(KernelError::InvalidProblem(format!(
            "{op}: {dims:?} overflows the address space"
        )));
    }
    Ok(())
}

/// The FP8 operands' byte counts (A as 1×128 tiles of `rows`×k, B per expert), if they fit.
fn fp8_sizes(rows: usize, experts: usize, n: usize, k: usize) -> [Option<usize>; 2] {
    let tiles = |x: usize| x.div_ceil(FP8_TILE);
    let a = rows
        .checked_mul(k)
        .and_then(|codes| codes.checked_add(rows.checked_mul(tiles(k))?.checked_mul(4)?));
    let b_one = n
        .checked_mul(k)
        .and_then(|codes| codes.checked_add(tiles(n).checked_mul(tiles(k))?.checked_mul(4)?));
    [a, b_one.and_then(|b| b.checked_mul(experts))]
}

/// A with `rows` rows: f32-family values in the variant, or FP8 1×128-tile bytes.
fn a_spec(name: &'static str, shape: Vec<usize>, fp8: bool) -> InputSpec {
    if fp8 {
        let rows: usize = shape[..shape.len() - 1].iter().product();
        let k = shape[shape.len() - 1];
        InputSpec::bytes(name, QuantFormat::Fp8E4M3Tile.encoded_len(rows, k))
    } else {
        InputSpec::new(name, shape, Layout::RowMajor, Storage::Variant)
    }
}

/// B: [experts, k, n] in the variant, or FP8 bytes of each expert's n×k matrix.
fn b_spec(experts: usize, n: usize, k: usize, layout: Layout, fp8: bool) -> InputSpec {
    if fp8 {
        InputSpec::bytes("B", fp8_weights_len(experts, n, k))
    } else {
        InputSpec::new("B", vec![experts, k, n], layout, Storage::Variant)
    }
}

/// FP8 problems take B as DeepGEMM does, K-major (`nt`).
fn check_fp8_layout(op: Op, fp8: bool, layout: Layout) -> Result<(), KernelError> {
    if fp8 && layout != Layout::ColMajor {
        return Err(KernelError::InvalidProblem(format!(
            "{op}: FP8 weights are stored K-major (nt), not {}",
            b_layout_tag(layout)
        )));
    }
    Ok(())
}

impl MoeContiguousProblem {
    /// Checks the dimensions, the alignment and the FP8 layout.
    pub fn validate(&self) -> Result<(), KernelError> {
        let op = Op::MoeContiguous;
        let fp8 = fp8_sizes(self.m, self.experts, self.n, self.k);
        check(
            op,
            &[
                ("experts", self.experts),
                ("m", self.m),
                ("n", self.n),
                ("k", self.k),
                ("alignment", self.alignment),
            ],
            &[
                element_bytes(&[self.m, self.k]),
                element_bytes(&[self.experts, self.k, self.n]),
                element_bytes(&[self.m, self.n]),
                i32_bytes(self.m),
                fp8[0],
                fp8[1],
            ],
        )?;
        if self.m % self.alignment != 0 {
            return Err(KernelError::InvalidProblem(format!(
                "{op}: m = {} is not a multiple of the alignment {}",
                self.m, self.alignment
            )));
        }
        check_fp8_layout(op, self.fp8, self.b_layout)
    }

    /// Values of the grouping input: m (one per row) or experts (one per expert).
    pub fn grouping_len(&self) -> usize {
        match self.grouping {
            Grouping::Indices => self.m,
            Grouping::Offsets => self.experts,
        }
    }
}

impl ProblemKind for MoeContiguousProblem {
    fn op(&self) -> Op {
        Op::MoeContiguous
    }

    fn validate(&self) -> Result<(), KernelError> {
        MoeContiguousProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        vec![
            a_spec("A", vec![self.m, self.k], self.fp8),
            b_spec(self.experts, self.n, self.k, self.b_layout, self.fp8),
            InputSpec::bytes(self.grouping.input_name(), 4 * self.grouping_len()),
        ]
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.m, self.n]
    }

    fn work(&self) -> usize {
        self.m.saturating_mul(self.n).saturating_mul(self.k)
    }

    fn leaves_outputs(&self) -> bool {
        self.padding == Padding::Untouched
    }
}

impl MoeMaskedProblem {
    /// Checks the dimensions and the FP8 layout.
    pub fn validate(&self) -> Result<(), KernelError> {
        let op = Op::MoeMasked;
        let rows = self.experts.saturating_mul(self.max_m);
        let fp8 = fp8_sizes(rows, self.experts, self.n, self.k);
        check(
            op,
            &[
                ("experts", self.experts),
                ("max_m", self.max_m),
                ("n", self.n),
                ("k", self.k),
            ],
            &[
                element_bytes(&[self.experts, self.max_m, self.k]),
                element_bytes(&[self.experts, self.k, self.n]),
                element_bytes(&[self.experts, self.max_m, self.n]),
                i32_bytes(self.experts),
                fp8[0],
                fp8[1],
            ],
        )?;
        check_fp8_layout(op, self.fp8, self.b_layout)
    }
}

impl ProblemKind for MoeMaskedProblem {
    fn op(&self) -> Op {
        Op::MoeMasked
    }

    fn validate(&self) -> Result<(), KernelError> {
        MoeMaskedProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        vec![
            a_spec("A", vec![self.experts, self.max_m, self.k], self.fp8),
            b_spec(self.experts, self.n, self.k, self.b_layout, self.fp8),
            InputSpec::bytes("masked_m", 4 * self.experts),
        ]
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.experts, self.max_m, self.n]
    }

    fn work(&self) -> usize {
        self.experts
            .saturating_mul(self.max_m)
            .saturating_mul(self.n)
            .saturating_mul(self.k)
    }

    fn leaves_outputs(&self) -> bool {
        self.padding == Padding::Untouched
    }
}

impl MoeRoutedProblem {
    /// Checks the dimensions, that top_k ≤ experts, and the FP8 layout.
    pub fn validate(&self) -> Result<(), KernelError> {
        let op = Op::MoeRouted;
        let slots = self.tokens.checked_mul(self.top_k);
        let fp8 = fp8_sizes(self.tokens, self.experts, self.n, self.k);
        check(
            op,
            &[
                ("tokens", self.tokens),
                ("experts", self.experts),
                ("top_k", self.top_k),
                ("n", self.n),
                ("k", self.k),
            ],
            &[
                element_bytes(&[self.tokens, self.k]),
                element_bytes(&[self.experts, self.k, self.n]),
                element_bytes(&[self.tokens, self.n]),
                slots.and_then(i32_bytes),
                fp8[0],
                fp8[1],
            ],
        )?;
        if self.top_k > self.experts {
            return Err(KernelError::InvalidProblem(format!(
                "{op}: top_k = {} is more than the {} experts",
                self.top_k, self.experts
            )));
        }
        check_fp8_layout(op, self.fp8, self.b_layout)
    }
}

impl ProblemKind for MoeRoutedProblem {
    fn op(&self) -> Op {
        Op::MoeRouted
    }

    fn validate(&self) -> Result<(), KernelError> {
        MoeRoutedProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        let w = b_spec(self.experts, self.n, self.k, self.b_layout, self.fp8);
        vec![
            a_spec("X", vec![self.tokens, self.k], self.fp8),
            InputSpec { name: "W", ..w },
            InputSpec::bytes("topk_ids", 4 * self.tokens * self.top_k),
            InputSpec::new(
                "topk_weights",
                vec![self.tokens, self.top_k],
                Layout::RowMajor,
                Storage::Fixed(Precision::F32),
            ),
        ]
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.tokens, self.n]
    }

    fn work(&self) -> usize {
        self.tokens
            .saturating_mul(self.top_k)
            .saturating_mul(self.n)
            .saturating_mul(self.k)
    }
}

/// Little-endian i32 values as the raw bytes of a routing-metadata input.
pub fn i32_le_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The i32 values of a routing-metadata input's raw bytes (a trailing partial value is dropped).
pub fn i32_le_values(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Problem;

    fn contiguous() -> MoeContiguousProblem {
        MoeContiguousProblem {
            experts: 4,
            m: 32,
            n: 5,
            k: 7,
            alignment: 8,
            grouping: Grouping::Indices,
            padding: Padding::Untouched,
            b_layout: Layout::ColMajor,
            fp8: false,
        }
    }

    #[test]
    fn contiguous_problems_need_whole_aligned_blocks() {
        assert!(contiguous().validate().is_ok());
        assert!(
            MoeContiguousProblem {
                m: 30,
                ..contiguous()
            }
            .validate()
            .is_err()
        );
        assert!(
            MoeContiguousProblem {
                alignment: 0,
                ..contiguous()
            }
            .validate()
            .is_err()
        );
        let fp8_nn = MoeContiguousProblem {
            fp8: true,
            b_layout: Layout::RowMajor,
            ..contiguous()
        };
        assert!(fp8_nn.validate().is_err());
        let specs = Problem::MoeContiguous(contiguous()).input_specs();
        assert_eq!(specs[1].shape, vec![4, 7, 5]);
        assert_eq!(specs[2].name, "m_indices");
        assert_eq!(specs[2].shape, vec![4 * 32]);
        let psum = MoeContiguousProblem {
            grouping: Grouping::Offsets,
            fp8: true,
            ..contiguous()
        };
        let specs = Problem::MoeContiguous(psum).input_specs();
        assert_eq!(specs[2].shape, vec![16]);
        assert_eq!(
            specs[0].shape,
            vec![QuantFormat::Fp8E4M3Tile.encoded_len(32, 7)]
        );
        assert_eq!(specs[1].shape, vec![4 * (4 + 35)]);
        assert!(Problem::MoeContiguous(psum).leaves_outputs());
    }

    #[test]
    fn masked_and_routed_shapes() {
        let masked = MoeMaskedProblem {
            experts: 3,
            max_m: 4,
            n: 5,
            k: 6,
            padding: Padding::Zero,
            b_layout: Layout::RowMajor,
            fp8: false,
        };
        assert_eq!(Problem::MoeMasked(masked).output_shape(), vec![3, 4, 5]);
        assert!(!Problem::MoeMasked(masked).leaves_outputs());
        let routed = MoeRoutedProblem {
            tokens: 2,
            experts: 8,
            top_k: 3,
            n: 4,
            k: 5,
            b_layout: Layout::ColMajor,
            fp8: false,
        };
        assert!(routed.validate().is_ok());
        let fp8 = MoeRoutedProblem {
            fp8: true,
            ..routed
        };
        assert!(fp8.validate().is_ok());
        assert!(
            MoeRoutedProblem {
                b_layout: Layout::RowMajor,
                ..fp8
            }
            .validate()
            .is_err()
        );
        let specs = Problem::MoeRouted(fp8).input_specs();
        assert_eq!(
            specs[0].shape,
            vec![QuantFormat::Fp8E4M3Tile.encoded_len(2, 5)]
        );
        assert_eq!(specs[1].name, "W");
        assert_eq!(specs[1].shape, vec![8 * (4 + 20)]);
        assert!(MoeRoutedProblem { top_k: 9, ..routed }.validate().is_err());
        let specs = Problem::MoeRouted(routed).input_specs();
        assert_eq!(specs[2].shape, vec![24]);
        assert_eq!(specs[3].storage, Storage::Fixed(Precision::F32));
    }

    #[test]
    fn tags_round_trip() {
        for p in [Padding::Zero, Padding::Untouched] {
            assert_eq!(Padding::parse(p.tag()), Some(p));
            assert_eq!(Padding::parse(p.name()), Some(p));
        }
        for g in [Grouping::Indices, Grouping::Offsets] {
            assert_eq!(Grouping::parse(g.tag()), Some(g));
            assert_eq!(Grouping::parse(g.name()), Some(g));
        }
        for l in [Layout::RowMajor, Layout::ColMajor] {
            assert_eq!(parse_b_layout(b_layout_tag(l)), Some(l));
        }
        assert_eq!(i32_le_values(&i32_le_bytes(&[-1, 7])), vec![-1, 7]);
    }
}
