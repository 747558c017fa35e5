//! The crosscheck contract.
//!
//! Everything a backend and the harness must agree on lives here, and nothing else does:
//! storage precisions, host tensors, problem descriptors, the [`Backend`] trait, each kernel's
//! declared [`NumericContract`] and the typed [`KernelError`]. A third party adds a backend by
//! depending on this crate alone and implementing [`Backend`].

mod backend;
mod block_rules;
mod contract;
mod error;
mod kernel;
mod output;
mod pow2;
mod precision;
mod problem;
mod quant;
mod tensor;

pub use backend::{Backend, DeviceInfo};
pub use block_rules::{ElementRounding, ScaleRule};
pub use contract::{
    Accumulator, Arithmetic, FunctionAccuracy, NonFinite, NumericContract, OutputRounding, Softmax,
    Subnormals,
};
pub use error::KernelError;
pub use kernel::{KernelId, KernelInfo, Op, VariantInfo};
pub use output::OutputBuffer;
pub use pow2::{pow2, pow2_f32};
pub use precision::{Path, Precision, Variant};
pub use problem::{
    AttentionProblem, DEEPGEMM_ALIGNMENT, DequantizeProblem, Grouping, INVALID_INDEX, InputSpec,
    MLA_FP8_TILE, MatmulProblem, MlaProblem, MoeContiguousProblem, MoeMaskedProblem,
    MoeRoutedProblem, Padding, Problem, ProblemKind, SparseAttentionProblem, SparseIndexerProblem,
    Storage, b_layout_tag, fp8_weights_len, i32_le_bytes, i32_le_values, parse_b_layout,
};
pub use quant::{
    FP8_TILE, GGML_BLOCK, K_SUPER_BLOCK, MX_BLOCK, NVFP4_BLOCK, QuantFamily, QuantFormat,
    QuantMatmulProblem, QuantizeProblem,
};
pub use tensor::{HostTensor, Layout};
