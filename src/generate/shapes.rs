//! proptest strategies over problems and cases. Dimensions are biased towards 1, primes and
//! tile sizes ±1, where edge bugs live; everything shrinks towards the smallest shape.

use crosscheck_spec::{Layout, Op, Variant};
use proptest::prelude::*;
use proptest::sample::select;

use crate::case::{Case, Distribution};

/// Largest dimension the default strategies draw.
pub const MAX_DIM: usize = 300;

const PRIMES: [usize; 20] = [
    2, 3, 5, 7, 11, 13, 17, 31, 37, 61, 67, 97, 101, 127, 131, 193, 199, 251, 257, 293,
];
const NEAR_TILES: [usize; 15] = [
    15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
];

/// One dimension in 1..=max: 1, a prime, a tile size ±1, or anything, shrinking towards 1.
pub fn dim(max: usize) -> impl Strategy<Value = usize> + Clone {
    let primes: Vec<usize> = PRIMES.iter().copied().filter(|&p| p <= max).collect();
    let tiles: Vec<usize> = NEAR_TILES.iter().copied().filter(|&t| t <= max).collect();
    prop_oneof![
        2 => Just(1usize),
        3 => select(primes),
        3 => select(tiles),
        4 => 1..=max,
    ]
}

/// Either layout.
pub fn layout() -> impl Strategy<Value = Layout> + Clone {
    prop_oneof![Just(Layout::RowMajor), Just(Layout::ColMajor)]
}

/// Any input distribution of `op`.
pub fn distribution(op: Op) -> impl Strategy<Value = Distribution> {
    select(Distribution::for_op(op).to_vec())
}

/// Cases for one (backend, kernel, variant) cell of `op`: its family's problems, any of its
/// distributions, any seed.
pub fn case(op: Op, backend: &str, kernel: &str, variant: Variant) -> BoxedStrategy<Case> {
    let problem = crate::ops::family(op).problems(kernel);
    let (backend, kernel) = (backend.to_string(), kernel.to_string());
    (problem, distribution(op), any::<u64>())
        .prop_map(move |(problem, distribution, seed)| Case {
            kernel: kernel.clone(),
            backend: backend.clone(),
            variant,
            problem,
            distribution,
            seed,
        })
        .boxed()
}

/// Matmul cases for one (backend, kernel, variant) cell.
pub fn matmul_case(backend: &str, kernel: &str, variant: Variant) -> BoxedStrategy<Case> {
    case(Op::Matmul, backend, kernel, variant)
}

pub use crate::ops::attention::cases::{
    ATTENTION_WORK_BUDGET, head_dims, problems as attention_problem,
};
pub use crate::ops::matmul::cases::problems as matmul_problem;
pub use crate::ops::quant::cases::{
    qmatmul_problems as qmatmul_problem, quantize_problems as quantize_problem,
};
