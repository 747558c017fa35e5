//! Which cells of the matrix a command covers: by op, kernel, backend and variant.

use crosscheck_spec::{Op, Variant};

use crate::run::CellKey;

/// A selection of cells; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellFilter {
    /// Only this op.
    pub op: Option<Op>,
    /// Only kernels with exactly this name.
    pub kernel: Option<String>,
    /// Only backends whose name contains this (`vulkan` matches `wgpu-vulkan`).
    pub backend: Option<String>,
    /// Only this variant.
    pub variant: Option<Variant>,
}

impl CellFilter {
    /// Whether `key` is selected.
    pub fn matches(&self, key: &CellKey) -> bool {
        self.op.is_none_or(|op| key.op == op)
            && self.kernel.as_ref().is_none_or(|k| &key.kernel == k)
            && self.matches_backend(&key.backend)
            && self.variant.is_none_or(|v| key.variant == v)
    }

    /// Whether a backend named `name` is selected.
    pub fn matches_backend(&self, name: &str) -> bool {
        self.backend
            .as_ref()
            .is_none_or(|b| name.contains(b.as_str()))
    }
}
