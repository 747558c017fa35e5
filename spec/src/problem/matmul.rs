//! The matmul problem: `C[b] = A[b] · B[b or 0]` in any layouts.

use super::{InputSpec, ProblemKind, Storage, element_bytes};
use crate::Layout;
use crate::{KernelError, Op, Precision, Variant};

/// `C[b] = A[b] · B[b or 0]` for `b` in `0..batch`, with A m×k, B k×n and C m×n row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatmulProblem {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Columns of A, rows of B: the length of every dot product.
    pub k: usize,
    /// Layout of each m×k matrix A (column-major A is a transposed operand).
    pub a_layout: Layout,
    /// Layout of each k×n matrix B.
    pub b_layout: Layout,
    /// When true, B holds a single k×n matrix used by every batch entry.
    pub b_broadcast: bool,
}

impl MatmulProblem {
    /// Shape of the A operand: [batch, m, k].
    pub fn a_shape(&self) -> Vec<usize> {
        vec![self.batch, self.m, self.k]
    }

    /// Shape of the B operand: [batch or 1, k, n].
    pub fn b_shape(&self) -> Vec<usize> {
        vec![
            if self.b_broadcast { 1 } else { self.batch },
            self.k,
            self.n,
        ]
    }

    /// Shape of the output C: [batch, m, n], always row-major.
    pub fn c_shape(&self) -> Vec<usize> {
        vec![self.batch, self.m, self.n]
    }

    /// Checks the dimensions: every one must be at least 1 and element counts must fit in usize.
    pub fn validate(&self) -> Result<(), KernelError> {
        let dims = [
            ("batch", self.batch),
            ("m", self.m),
            ("n", self.n),
            ("k", self.k),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return Err(KernelError::InvalidProblem(format!(
                "matmul dimension {name} is 0"
            )));
        }
        for shape in [self.a_shape(), self.b_shape(), self.c_shape()] {
            element_bytes(&shape).ok_or_else(|| {
                KernelError::InvalidProblem(format!("matmul {self:?} overflows the address space"))
            })?;
        }
        Ok(())
    }
}

impl ProblemKind for MatmulProblem {
    fn op(&self) -> Op {
        Op::Matmul
    }

    fn validate(&self) -> Result<(), KernelError> {
        MatmulProblem::validate(self)
    }

    fn input_specs(&self) -> Vec<InputSpec> {
        vec![
            InputSpec::new("A", self.a_shape(), self.a_layout, Storage::Variant),
            InputSpec::new("B", self.b_shape(), self.b_layout, Storage::Variant),
        ]
    }

    fn output_precision(&self, variant: Variant) -> Precision {
        variant.precision
    }

    fn output_shape(&self) -> Vec<usize> {
        self.c_shape()
    }

    fn work(&self) -> usize {
        self.batch
            .saturating_mul(self.m)
            .saturating_mul(self.n)
            .saturating_mul(self.k)
    }
}
