//! Problem descriptors: what a kernel is asked to compute, independent of the data.

use crate::{HostTensor, KernelError, Layout, Op, OutputBuffer, Variant};

/// C[b] = A[b] · B[b or 0] for b in 0..batch, with A m×k, B k×n and C m×n row-major.
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
            shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .and_then(|n| n.checked_mul(4))
                .ok_or_else(|| {
                    KernelError::InvalidProblem(format!(
                        "matmul {self:?} overflows the address space"
                    ))
                })?;
        }
        Ok(())
    }
}

/// Any problem a kernel can be asked to solve. New op families add a variant here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A (batched) matrix product.
    Matmul(MatmulProblem),
}

impl Problem {
    /// The op family this problem belongs to.
    pub fn op(&self) -> Op {
        match self {
            Problem::Matmul(_) => Op::Matmul,
        }
    }

    /// Checks the dimensions alone.
    pub fn validate(&self) -> Result<(), KernelError> {
        match self {
            Problem::Matmul(p) => p.validate(),
        }
    }

    /// Shapes and layouts of the inputs, in the order [`crate::Backend::run`] receives them.
    pub fn input_specs(&self) -> Vec<(&'static str, Vec<usize>, Layout)> {
        match self {
            Problem::Matmul(p) => vec![
                ("A", p.a_shape(), p.a_layout),
                ("B", p.b_shape(), p.b_layout),
            ],
        }
    }

    /// Shape of the output (always row-major).
    pub fn output_shape(&self) -> Vec<usize> {
        match self {
            Problem::Matmul(p) => p.c_shape(),
        }
    }

    /// Multiply-adds the problem needs: a size measure for showing the smallest failing case first.
    pub fn work(&self) -> usize {
        match self {
            Problem::Matmul(p) => p
                .batch
                .saturating_mul(p.m)
                .saturating_mul(p.n)
                .saturating_mul(p.k),
        }
    }

    /// Number of output elements.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Checks dimensions, then that `inputs` match the problem (count, shapes, layouts, precision,
    /// byte lengths) and that `output` holds the problem's output elements in the variant's
    /// precision. Every backend calls this before touching a device.
    pub fn validate_buffers(
        &self,
        variant: Variant,
        inputs: &[&HostTensor],
        output: &OutputBuffer,
    ) -> Result<(), KernelError> {
        self.validate()?;
        if output.len() != self.output_len() || output.precision() != variant.precision {
            return Err(KernelError::InvalidProblem(format!(
                "output buffer holds {} {} elements, the problem needs {} {}",
                output.len(),
                output.precision(),
                self.output_len(),
                variant.precision
            )));
        }
        let specs = self.input_specs();
        if inputs.len() != specs.len() {
            return Err(KernelError::InvalidProblem(format!(
                "{} expects {} inputs, got {}",
                self.op(),
                specs.len(),
                inputs.len()
            )));
        }
        for ((name, shape, layout), t) in specs.iter().zip(inputs) {
            let problem =
                |what: String| KernelError::InvalidProblem(format!("input {name}: {what}"));
            if &t.shape != shape {
                return Err(problem(format!(
                    "shape {:?} but the problem needs {:?}",
                    t.shape, shape
                )));
            }
            if t.layout != *layout {
                return Err(problem(format!(
                    "layout {:?} but the problem says {:?}",
                    t.layout, layout
                )));
            }
            if t.precision != variant.precision {
                return Err(problem(format!(
                    "stored as {} but the variant is {}",
                    t.precision, variant
                )));
            }
            let want = t.len() * t.precision.bytes();
            if t.bytes.len() != want {
                return Err(problem(format!(
                    "{} bytes but {:?} in {} needs {want}",
                    t.bytes.len(),
                    shape,
                    t.precision
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Precision;

    fn problem() -> MatmulProblem {
        MatmulProblem {
            batch: 2,
            m: 3,
            n: 4,
            k: 5,
            a_layout: Layout::RowMajor,
            b_layout: Layout::ColMajor,
            b_broadcast: true,
        }
    }

    fn tensor(shape: Vec<usize>, layout: Layout) -> HostTensor {
        let n: usize = shape.iter().product();
        HostTensor {
            shape,
            layout,
            precision: Precision::F32,
            bytes: vec![0; n * 4],
        }
    }

    #[test]
    fn zero_dimensions_are_rejected() {
        let p = MatmulProblem { k: 0, ..problem() };
        assert!(matches!(p.validate(), Err(KernelError::InvalidProblem(m)) if m.contains('k')));
    }

    #[test]
    fn broadcast_b_has_one_matrix() {
        assert_eq!(problem().b_shape(), vec![1, 5, 4]);
    }

    #[test]
    fn inputs_are_checked_against_the_problem() {
        let p = Problem::Matmul(problem());
        let v = Variant::portable(Precision::F32);
        let a = tensor(vec![2, 3, 5], Layout::RowMajor);
        let b = tensor(vec![1, 5, 4], Layout::ColMajor);
        let out = OutputBuffer::new(Precision::F32, 24, 0);
        assert!(p.validate_buffers(v, &[&a, &b], &out).is_ok());
        let mut short = b.clone();
        short.bytes.pop();
        assert!(p.validate_buffers(v, &[&a, &short], &out).is_err());
        let wrong_layout = tensor(vec![1, 5, 4], Layout::RowMajor);
        assert!(p.validate_buffers(v, &[&a, &wrong_layout], &out).is_err());
        assert!(p.validate_buffers(v, &[&a], &out).is_err());
        let f16 = Variant::portable(Precision::F16);
        let f16_out = OutputBuffer::new(Precision::F16, 24, 0);
        assert!(p.validate_buffers(f16, &[&a, &b], &f16_out).is_err());
        let short_out = OutputBuffer::new(Precision::F32, 23, 0);
        assert!(p.validate_buffers(v, &[&a, &b], &short_out).is_err());
        assert!(p.validate_buffers(v, &[&a, &b], &f16_out).is_err());
    }
}
