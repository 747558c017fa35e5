//! Matmul conformance on every backend: the exact tier on fixed edge shapes (bit-equal to the
//! oracle) and the bound tier as proptest properties that shrink to the smallest failing case.
//! Missing backends are reported on stderr, or fail the run when CROSSCHECK_REQUIRE lists them.

use crosscheck::case::{Case, Distribution};
use crosscheck::generate::shapes;
use crosscheck::testing::{
    backend_or_skip, check_case, check_property, kernel_names, runnable_variants,
};
use crosscheck_spec::{Layout, MatmulProblem, Op, Problem};

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

fn exact_tier(api: &str) {
    let Some(backend) = backend_or_skip(api, "exact tier") else {
        return;
    };
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

fn bound_tier(api: &str) {
    let Some(backend) = backend_or_skip(api, "bound tier") else {
        return;
    };
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

#[test]
fn exact_tier_cpu() {
    exact_tier("cpu");
}

#[test]
fn exact_tier_vulkan() {
    exact_tier("vulkan");
}

#[test]
fn exact_tier_gl() {
    exact_tier("gl");
}

#[test]
fn bound_tier_cpu() {
    bound_tier("cpu");
}

#[test]
fn bound_tier_vulkan() {
    bound_tier("vulkan");
}

#[test]
fn bound_tier_gl() {
    bound_tier("gl");
}

#[test]
fn metal_and_dx12_run_where_present() {
    for api in ["metal", "dx12"] {
        if crosscheck::registry()
            .all
            .iter()
            .any(|b| b.device().api == api)
        {
            exact_tier(api);
            bound_tier(api);
        }
    }
}

#[test]
fn required_backends_are_present() {
    if let Err(e) = crosscheck::registry().check_required() {
        panic!("{e}");
    }
}
