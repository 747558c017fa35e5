//! What a backend says about each of its kernels: op, name, variants and their declared contracts.

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
}

impl Op {
    /// Every op family, in report order.
    pub const ALL: [Op; 5] = [
        Op::Matmul,
        Op::Attention,
        Op::Quantize,
        Op::Dequantize,
        Op::QuantMatmul,
    ];

    /// Lower-case name used in reports and case ids.
    pub fn name(self) -> &'static str {
        match self {
            Op::Matmul => "matmul",
            Op::Attention => "attention",
            Op::Quantize => "quantize",
            Op::Dequantize => "dequantize",
            Op::QuantMatmul => "qmatmul",
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

    /// `op/name`, as shown in report rows.
    pub fn label(&self) -> String {
        format!("{}/{}", self.op, self.name)
    }
}
