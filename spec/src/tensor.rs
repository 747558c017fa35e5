//! Host tensors: shape, layout and the exact stored bytes that a kernel and the oracle both read.

use crate::Precision;

/// How the last two dimensions of a tensor are laid out in memory. Leading dimensions
/// (batch, heads) are always outermost and contiguous blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Rows are contiguous: element (r, c) of an R×C matrix sits at r·C + c.
    RowMajor,
    /// Columns are contiguous: element (r, c) of an R×C matrix sits at c·R + r.
    ColMajor,
}

impl Layout {
    /// One-letter tag used in case ids: `r` or `c`.
    pub fn tag(self) -> char {
        match self {
            Layout::RowMajor => 'r',
            Layout::ColMajor => 'c',
        }
    }

    /// Parses the tag written by [`Layout::tag`].
    pub fn from_tag(tag: char) -> Option<Layout> {
        match tag {
            'r' => Some(Layout::RowMajor),
            'c' => Some(Layout::ColMajor),
            _ => None,
        }
    }

    /// Strides (row stride, column stride) of an R×C matrix in this layout.
    pub fn strides(self, rows: usize, cols: usize) -> (usize, usize) {
        match self {
            Layout::RowMajor => (cols, 1),
            Layout::ColMajor => (1, rows),
        }
    }
}

/// A tensor on the host: logical shape, layout of the innermost matrix, storage precision and the
/// stored little-endian bytes. The bytes are the truth: the oracle decodes them exactly, so input
/// rounding is never charged to a kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Logical dimensions, outermost first; the last two are (rows, columns).
    pub shape: Vec<usize>,
    /// Layout of each innermost rows×columns matrix.
    pub layout: Layout,
    /// Storage precision of every element.
    pub precision: Precision,
    /// `len() · precision.bytes()` bytes of stored values.
    pub bytes: Vec<u8>,
}

impl HostTensor {
    /// Number of elements implied by the shape.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the shape has a zero dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes every stored element to f32 in storage order (exact for every precision).
    pub fn to_f32(&self) -> Vec<f32> {
        self.bytes
            .chunks_exact(self.precision.bytes())
            .map(|b| self.precision.decode(b))
            .collect()
    }

    /// Storage offset of matrix element (row, col) of the innermost matrix number `outer`.
    pub fn offset(&self, outer: usize, row: usize, col: usize) -> usize {
        let (rows, cols) = self.matrix_dims();
        let (rs, cs) = self.layout.strides(rows, cols);
        outer * rows * cols + row * rs + col * cs
    }

    /// (rows, columns) of the innermost matrix; a 1-D tensor is one row.
    pub fn matrix_dims(&self) -> (usize, usize) {
        match self.shape.as_slice() {
            [] => (1, 1),
            [c] => (1, *c),
            [.., r, c] => (*r, *c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_layout() {
        let t = HostTensor {
            shape: vec![2, 3, 4],
            layout: Layout::ColMajor,
            precision: Precision::F32,
            bytes: vec![0; 96],
        };
        assert_eq!(t.offset(0, 1, 0), 1);
        assert_eq!(t.offset(0, 0, 1), 3);
        assert_eq!(t.offset(1, 2, 3), 12 + 2 + 9);
        let r = HostTensor {
            layout: Layout::RowMajor,
            ..t
        };
        assert_eq!(r.offset(1, 2, 3), 12 + 8 + 3);
    }
}
