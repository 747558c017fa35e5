//! The default plan: which cases each matrix cell runs. Fixed edge cases in the exact and bound
//! tiers, plus seeded random cases drawn from the same strategies the property tests use.

use crosscheck_spec::{Op, Variant};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::case::{Case, parse_problem};
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
        let family = crate::ops::family(op);
        let fixed = family
            .fixed_cases()
            .iter()
            .enumerate()
            .filter_map(|(i, &(problem, dist))| {
                let problem = parse_problem(op, problem).expect("fixed problems are well-formed");
                family
                    .kernel_takes(&problem, kernel)
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
