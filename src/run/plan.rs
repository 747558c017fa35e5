//! The default plan: which cases each matrix cell runs. Fixed edge cases in the exact and bound
//! tiers, plus seeded random cases drawn from the same strategies the property tests use.

use crosscheck_spec::{Op, Problem, Variant};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::case::{Case, Distribution, parse_problem};
use crate::generate::shapes;

/// How many cases a cell runs and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Seed of the random cases and of every case's data.
    pub seed: u64,
    /// Random cases per cell, on top of the fixed ones.
    pub random_cases: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            seed: 0x5eed,
            random_cases: 8,
        }
    }
}

/// Fixed matmul cases, as the problem part of a case id: edge shapes (1, tile ± 1, primes,
/// GEMV-like), every layout pair, broadcast B, and each distribution.
const MATMUL_FIXED: &[(&str, Distribution)] = &[
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

/// Fixed attention cases: single key, decode with MQA, more queries than keys (fully masked
/// rows), multi-head latent attention widths, windows down to one key, a custom scale, tile
/// edges, and every adversarial distribution.
const ATTENTION_FIXED: &[(&str, Distribution)] = &[
    ("b1h1g1q1k1d1v1", Distribution::Normal),
    ("b1h4g2q17k33d64v64.causal", Distribution::Normal),
    ("b2h8g1q1k300d128v128.causal", Distribution::Normal),
    ("b1h2g2q33k15d40v40.causal", Distribution::Uniform),
    ("b1h4g4q31k65d192v128", Distribution::Normal),
    ("b1h8g2q65k129d64v64.causal", Distribution::Uniform),
    ("b1h2g1q64k64d80v80.causal.w16", Distribution::LargeLogits),
    ("b1h1g1q16k16d96v96.causal.w1", Distribution::Normal),
    ("b1h2g1q20k40d64v32", Distribution::Peaked),
    ("b1h2g2q24k50d32v32.s0.5", Distribution::NearUniform),
    ("b1h2g1q17k33d64v64.causal", Distribution::ConstV),
    ("b1h2g1q17k33d16v16.causal", Distribution::NanKey),
    ("b1h2g1q17k33d16v16.w8", Distribution::NanValue),
    ("b1h2g1q40k70d16v16.causal", Distribution::NegInfKeys),
    ("b1h2g1q17k33d16v16.causal", Distribution::Specials),
    ("b1h2g2q9k40d32v24", Distribution::Specials),
];

/// Fixed quantize cases per format: rounding ties, zero blocks, outliers, short FP8 tiles, blocks
/// spanning several 128-row bands, and values beyond E4M3's range.
const QUANTIZE_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.r1c32", Distribution::Ties),
    ("q8_0.r3c96", Distribution::Normal),
    ("q8_0.r4c64", Distribution::ZeroBlocks),
    ("q8_0.r2c320", Distribution::Outliers),
    ("q4_0.r1c32", Distribution::Ties),
    ("q4_0.r3c96", Distribution::Normal),
    ("q4_0.r4c64", Distribution::ZeroBlocks),
    ("q4_0.r2c320", Distribution::Outliers),
    ("int8.r1c1", Distribution::Normal),
    ("int8.r7c33", Distribution::Ties),
    ("int8.r3c300", Distribution::Outliers),
    ("int8.r4c17", Distribution::ZeroBlocks),
    ("fp8-e4m3.r3c50", Distribution::Beyond448),
    ("fp8-e4m3.r2c64", Distribution::Ties),
    ("fp8-e4m3-1x128.r3c130", Distribution::Ties),
    ("fp8-e4m3-1x128.r2c300", Distribution::Normal),
    ("fp8-e4m3-128x128.r130c129", Distribution::Outliers),
    ("fp8-e4m3-128x128.r5c7", Distribution::ZeroBlocks),
    ("q8_0.r2c64", Distribution::Specials),
    ("q4_0.r2c64", Distribution::Specials),
    ("int8.r3c40", Distribution::Specials),
    ("fp8-e4m3.r2c64", Distribution::Specials),
    ("fp8-e4m3-1x128.r2c130", Distribution::Specials),
];

/// Fixed dequantize cases: reference-encoded blocks and random bytes, per format.
const DEQUANTIZE_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.r3c96", Distribution::Normal),
    ("q8_0.r2c64", Distribution::RandomBytes),
    ("q4_0.r3c96", Distribution::Normal),
    ("q4_0.r2c64", Distribution::RandomBytes),
    ("int8.r3c33", Distribution::Outliers),
    ("int8.r2c17", Distribution::RandomBytes),
    ("fp8-e4m3.r2c64", Distribution::RandomBytes),
    ("fp8-e4m3-1x128.r3c130", Distribution::Normal),
    ("fp8-e4m3-128x128.r130c129", Distribution::RandomBytes),
];

/// Fixed quantized-matmul cases: GEMV and GEMM shapes, every weight format, FP8 with a short
/// last block along k.
const QMATMUL_FIXED: &[(&str, Distribution)] = &[
    ("q8_0.m1n64k256", Distribution::Normal),
    ("q8_0.m7n33k96", Distribution::Outliers),
    ("q4_0.m1n64k256", Distribution::Normal),
    ("q4_0.m7n33k96", Distribution::ZeroBlocks),
    ("int8.m1n64k300", Distribution::Normal),
    ("int8.m9n17k33", Distribution::Outliers),
    ("fp8-e4m3-128x128.m1n130k300", Distribution::Normal),
    ("fp8-e4m3-128x128.m5n7k129", Distribution::Outliers),
];

impl Plan {
    /// The cases of one cell.
    pub fn cases(&self, op: Op, backend: &str, kernel: &str, variant: Variant) -> Vec<Case> {
        let case = |problem, distribution, seed| Case {
            kernel: kernel.to_string(),
            backend: backend.to_string(),
            variant,
            problem,
            distribution,
            seed,
        };
        let fixed = match op {
            Op::Matmul => MATMUL_FIXED,
            Op::Attention => ATTENTION_FIXED,
            Op::Quantize => QUANTIZE_FIXED,
            Op::Dequantize => DEQUANTIZE_FIXED,
            Op::QuantMatmul => QMATMUL_FIXED,
        };
        let fixed = fixed
            .iter()
            .enumerate()
            .filter_map(|(i, &(problem, dist))| {
                let problem = parse_problem(op, problem).expect("fixed problems are well-formed");
                // Quantized kernels are named by the format family they handle.
                let family = match &problem {
                    Problem::Quantize(q) | Problem::Dequantize(q) => Some(q.format.family()),
                    Problem::QuantMatmul(q) => Some(q.weights.family()),
                    _ => None,
                };
                family
                    .is_none_or(|f| f == kernel)
                    .then(|| case(problem, dist, self.seed.wrapping_add(i as u64)))
            });
        fixed
            .chain(self.random(op, backend, kernel, variant))
            .collect()
    }

    /// The random cases of one cell alone: `random_cases` draws from the property tests'
    /// strategies, reproducibly from the plan's seed.
    pub fn random(&self, op: Op, backend: &str, kernel: &str, variant: Variant) -> Vec<Case> {
        self.draw(shapes::case(op, backend, kernel, variant))
    }

    /// `random_cases` values of `strategy`, reproducibly from the plan's seed.
    fn draw<S: Strategy<Value = Case>>(&self, strategy: S) -> Vec<Case> {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        (0..self.random_cases)
            .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
            .collect()
    }
}
