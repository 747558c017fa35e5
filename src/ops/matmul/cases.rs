//! Which matmul problems run: the default plan's fixed edge cases, the random problems of the
//! property tests and the soak, and the smaller neighbours the shrinker tries.

use crosscheck_spec::MatmulProblem;
use proptest::prelude::*;

use crate::case::Distribution;
use crate::generate::shapes::{MAX_DIM, dim, layout};
use crate::generate::smaller::vary;

/// Fixed matmul cases, as the problem part of a case id: edge shapes (1, tile ± 1, primes,
/// GEMV-like), every layout pair, broadcast B, and each distribution.
pub const FIXED: &[(&str, Distribution)] = &[
    ("b1m1n1k1.rr", Distribution::Exact),
    ("b1m7n5k3.cr", Distribution::Exact),
    ("b2m33n31k65.rc.bcast", Distribution::Exact),
    ("b1m64n64k64.cc", Distribution::Exact),
    ("b3m17n129k33.rr", Distribution::Exact),
    ("b1m100n1k257.cr", Distribution::Exact),
    ("b1m1n97k300.rc", Distribution::Exact),
    ("b1m127n129k255.rr", Distribution::Uniform),
    ("b2m31n33k97.cc.bcast", Distribution::Normal),
    ("b1m65n63k300.cr", Distribution::Wide),
    ("b1m1n300k300.rc", Distribution::Normal),
    ("b3m32n32k32.cr", Distribution::Uniform),
    ("b2m33n31k65.rc", Distribution::Specials),
    ("b1m40n37k70.rr", Distribution::Specials),
    ("b2m33n31k65.rc.bcast", Distribution::Ties),
    ("b1m17n129k2.cr", Distribution::Ties),
];

/// Matmul problems: batch 1..=3, m, n, k in 1..=[`MAX_DIM`], any layouts, B broadcast or not.
pub fn problems() -> impl Strategy<Value = MatmulProblem> {
    (
        1usize..=3,
        dim(MAX_DIM),
        dim(MAX_DIM),
        dim(MAX_DIM),
        layout(),
        layout(),
        any::<bool>(),
    )
        .prop_map(
            |(batch, m, n, k, a_layout, b_layout, b_broadcast)| MatmulProblem {
                batch,
                m,
                n,
                k,
                a_layout,
                b_layout,
                b_broadcast,
            },
        )
}

/// Smaller matmuls: fewer batch entries, rows, columns or products.
pub fn smaller(p: &MatmulProblem) -> Vec<MatmulProblem> {
    [
        vary(p, 1, |p| p.batch, |p, v| p.batch = v),
        vary(p, 1, |p| p.m, |p, v| p.m = v),
        vary(p, 1, |p| p.n, |p, v| p.n = v),
        vary(p, 1, |p| p.k, |p, v| p.k = v),
    ]
    .concat()
}
