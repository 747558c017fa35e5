//! Matmul conformance on every backend: the exact tier on fixed edge shapes (bit-equal to the
//! oracle) and the bound tier as proptest properties that shrink to the smallest failing case.
//! A test of a missing backend is listed as ignored, and the run ends naming the backend and how
//! to install it; it fails instead when CROSSCHECK_REQUIRE lists the backend (`harness = false`,
//! see `crosscheck::testing::Suite`).

use std::sync::Arc;

use crosscheck::case::{Case, Distribution};
use crosscheck::generate::shapes;
use crosscheck::testing::{Suite, check_case, check_property, kernel_names, runnable_variants};
use crosscheck_spec::{Backend, Layout, MatmulProblem, Op, Problem};

/// Shapes that hit every edge: single elements, tile sizes ± 1, primes, GEMV-like, batches, and
/// one past the CPU tiled kernel's 512-wide n tile and 256-deep k tile (the random shapes stop
/// at 300, so without it a bug at that tile's edge goes unseen: cargo-mutants showed it).
const EDGE_SHAPES: &[(usize, usize, usize, usize)] = &[
    (1, 1, 1, 1),
    (1, 1, 1, 300),
    (1, 2, 3, 5),
    (1, 31, 33, 32),
    (2, 33, 31, 1),
    (1, 64, 65, 63),
    (3, 5, 129, 7),
    (1, 97, 1, 129),
    (1, 5, 513, 257),
];

/// Failing exact-tier cases printed in full.
const SHOWN_FAILURES: usize = 4;

fn exact_tier(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for kernel in kernel_names(backend.as_ref(), Op::Matmul) {
        for variant in runnable_variants(backend.as_ref(), (Op::Matmul, &kernel)) {
            for (i, &(batch, m, n, k)) in EDGE_SHAPES.iter().enumerate() {
                for (j, (a_layout, b_layout)) in layout_pairs().into_iter().enumerate() {
                    let problem = MatmulProblem {
                        batch,
                        m,
                        n,
                        k,
                        a_layout,
                        b_layout,
                        b_broadcast: (i + j) % 3 == 0,
                    };
                    let case = Case {
                        kernel: kernel.clone(),
                        backend: backend.name().into(),
                        variant,
                        problem: Problem::Matmul(problem),
                        distribution: Distribution::Exact,
                        seed: (i * 4 + j) as u64,
                    };
                    if let Err(e) = check_case(&backend, &case) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    let shown: Vec<&String> = failures.iter().take(SHOWN_FAILURES).collect();
    assert!(
        failures.is_empty(),
        "{} exact-tier case(s) failed; the first {}:\n{}",
        failures.len(),
        shown.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn bound_tier(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for kernel in kernel_names(backend.as_ref(), Op::Matmul) {
        for variant in runnable_variants(backend.as_ref(), (Op::Matmul, &kernel)) {
            let strategy = shapes::matmul_case(backend.name(), &kernel, variant);
            if let Err(e) = check_property(&backend, strategy) {
                failures.push(format!(
                    "matmul/{kernel} {variant} on {}: {e}",
                    backend.name()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn layout_pairs() -> [(Layout, Layout); 4] {
    use Layout::{ColMajor, RowMajor};
    [
        (RowMajor, RowMajor),
        (RowMajor, ColMajor),
        (ColMajor, RowMajor),
        (ColMajor, ColMajor),
    ]
}

/// Every API this crate's wgpu backends may run on, after the CPU: a test of one this machine
/// lacks is ignored with the reason (Metal and DX12 are never present on Linux).
const APIS: [&str; 5] = ["cpu", "vulkan", "gl", "metal", "dx12"];

fn required_backends_are_present() {
    if let Err(e) = crosscheck::registry().check_required() {
        panic!("{e}");
    }
}

fn main() {
    let mut suite = Suite::new();
    for api in APIS {
        suite.on_backend(format!("exact_tier_{api}"), api, exact_tier);
    }
    for api in APIS {
        suite.on_backend(format!("bound_tier_{api}"), api, bound_tier);
    }
    suite.test(
        "required_backends_are_present",
        required_backends_are_present,
    );
    suite.run_and_exit()
}
