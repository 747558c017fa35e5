//! What a backend says about each of its kernels: op, name, variants and their declared contracts.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::{NumericContract, Variant};

/// An op family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Batched matrix product.
    Matmul,
    /// Scaled dot-product attention with GQA, causal and sliding-window masks.
    Attention,
    /// f32 → a quantized format.
    Quantize,
    /// A quantized format → f32.
    Dequantize,
    /// Matmul with quantized weights (and, for int8 and FP8, quantized activations).
    QuantMatmul,
    /// Sparse top-k attention (DeepSeek Sparse Attention): each query attends to the keys its
    /// index list names.
    Sparse,
    /// Absorbed multi-head latent attention decode over a paged KV cache (FlashMLA's
    /// `flash_mla_with_kvcache`), returning O and the log-sum-exp.
    Mla,
    /// The sparse indexer's logits (DeepSeek Sparse Attention's lightning indexer, DeepGEMM's
    /// `fp8_mqa_logits`): Σ_h w_h · relu(q_h · k_j) for every key in a query's range.
    SparseIndexer,
    /// MoE grouped GEMM, DeepGEMM's m-grouped contiguous layout (segments of rows per expert).
    MoeContiguous,
    /// MoE grouped GEMM, DeepGEMM's masked layout (valid row counts per expert).
    MoeMasked,
    /// MoE routed combination: each token's top-k expert outputs summed with its weights.
    MoeRouted,
}

impl Op {
    /// Every op family, in report order.
    pub const ALL: [Op; 11] = [
        Op::Matmul,
        Op::Attention,
        Op::Quantize,
        Op::Dequantize,
        Op::QuantMatmul,
        Op::Sparse,
        Op::Mla,
        Op::SparseIndexer,
        Op::MoeContiguous,
        Op::MoeMasked,
        Op::MoeRouted,
    ];

    /// Lower-case name used in reports and case ids.
    pub fn name(self) -> &'static str {
        match self {
            Op::Matmul => "matmul",
            Op::Mla => "mla",
            Op::Attention => "attention",
            Op::Quantize => "quantize",
            Op::Dequantize => "dequantize",
            Op::QuantMatmul => "qmatmul",
            Op::Sparse => "sparse",
            Op::SparseIndexer => "sparse-indexer",
            Op::MoeContiguous => "moe_contiguous",
            Op::MoeMasked => "moe_masked",
            Op::MoeRouted => "moe_routed",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Op {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| format!("unknown op `{s}`"))
    }
}

/// Which kernel: its op and its name within the op, written `op/name` (`attention/flash`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KernelId {
    /// Op family.
    pub op: Op,
    /// Kernel name, unique within the op on a backend.
    pub name: Cow<'static, str>,
}

impl KernelId {
    /// A kernel id with a name known at compile time (catalogues, registries).
    pub const fn fixed(op: Op, name: &'static str) -> Self {
        KernelId {
            op,
            name: Cow::Borrowed(name),
        }
    }

    /// A kernel id.
    pub fn new(op: Op, name: impl Into<String>) -> Self {
        KernelId {
            op,
            name: Cow::Owned(name.into()),
        }
    }

    /// Whether `info` is this kernel.
    pub fn is(&self, info: &KernelInfo) -> bool {
        info.op == self.op && info.name == self.name
    }

    /// This kernel among `kernels`: the one lookup every caller uses.
    pub fn find<'a>(&self, kernels: &'a [KernelInfo]) -> Option<&'a KernelInfo> {
        kernels.iter().find(|k| self.is(k))
    }
}

impl fmt::Display for KernelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.op, self.name)
    }
}

impl FromStr for KernelId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (op, name) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a kernel: write op/name, e.g. matmul/tiled"))?;
        if name.is_empty() {
            return Err(format!("`{s}` names no kernel after the op"));
        }
        Ok(KernelId::new(op.parse()?, name))
    }
}

/// One variant of a kernel on one backend: its declared contract, or why it cannot run there.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantInfo {
    /// Storage precision and path.
    pub variant: Variant,
    /// The numeric contract the judge holds this variant to.
    pub contract: NumericContract,
    /// `Some(reason)` when the variant exists but cannot run on this device (e.g. a missing feature).
    pub unavailable: Option<String>,
}

impl VariantInfo {
    /// A variant that runs on this device under `contract`.
    pub fn available(variant: Variant, contract: NumericContract) -> Self {
        VariantInfo {
            variant,
            contract,
            unavailable: None,
        }
    }
}

/// A kernel a backend offers.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelInfo {
    /// Op family.
    pub op: Op,
    /// Kernel name, unique within the op on this backend (e.g. `naive`, `tiled`).
    pub name: String,
    /// One line on how it works.
    pub summary: String,
    /// The variants it is built for.
    pub variants: Vec<VariantInfo>,
}

impl KernelInfo {
    /// The declared variant info for `variant`, if the kernel is built for it.
    pub fn variant(&self, variant: Variant) -> Option<&VariantInfo> {
        self.variants.iter().find(|v| v.variant == variant)
    }

    /// Its op and name.
    pub fn id(&self) -> KernelId {
        KernelId::new(self.op, self.name.clone())
    }

    /// `op/name`, as shown in report rows.
    pub fn label(&self) -> String {
        self.id().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_ids_round_trip_and_say_what_is_wrong() {
        let id: KernelId = "attention/flash".parse().unwrap();
        assert_eq!(id, KernelId::fixed(Op::Attention, "flash"));
        assert_eq!(id.to_string(), "attention/flash");
        assert!("flash".parse::<KernelId>().unwrap_err().contains("op/name"));
        assert!(
            "conv/x"
                .parse::<KernelId>()
                .unwrap_err()
                .contains("unknown op")
        );
        assert!("matmul/".parse::<KernelId>().is_err());
    }
}
