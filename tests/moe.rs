//! MoE grouped GEMMs on every backend: the contiguous layout (m_indices and prefix-sum offsets,
//! segments aligned), the masked layout and the routed combination, in every precision and with
//! FP8 block-scaled operands, each against the per-expert f64 oracle and its derived bound, with
//! the rows no expert owns zero or untouched as the problem declares. Fixed cases hit tile and
//! scale-block edges, odd alignments and DeepSeek's routing; properties draw small problems on
//! every backend and DeepSeek-shaped ones (256 experts, top-8, k = 7168 or 2048) on the CPU, and
//! shrink. Bugs planted into the CPU kernels' inputs and outputs are caught and shrink to tiny
//! cases (FP8 routed ones among them: the weights applied twice, the next token's scales). A test of a missing backend is listed as ignored with the reason, or fails when
//! CROSSCHECK_REQUIRE lists it (`harness = false`, see `crosscheck::testing::Suite`).

use std::sync::Arc;
use std::time::Duration;

use crosscheck::case::{Case, Distribution};
use crosscheck::generate::shapes;
use crosscheck::judge::Failure;
use crosscheck::ops::moe::cases;
use crosscheck::run::{CaseResult, Plan, run_case};
use crosscheck::testing::{
    Suite, cases_per_property, check_case, config, kernel_names, minimize_within,
    runnable_variants, smallest_failure_seeded, test_seed,
};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, Op, OutputBuffer, Precision, Problem,
    Variant, i32_le_bytes, i32_le_values,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

const OPS: [Op; 3] = [Op::MoeContiguous, Op::MoeMasked, Op::MoeRouted];

/// Edge problems beyond the default plan's fixed cases: alignments that are no power of two
/// (3) and one past a 64-row tile (65), masked rows around the tile edge, 257 columns and 257
/// products (past the routed kernel's 256-wide chunks), single experts and slots, and FP8 with
/// short last scale blocks along n and k (routed too, and a single FP8 token, slot and product).
const EDGES: &[(Op, &str)] = &[
    (Op::MoeContiguous, "e3m9n5k7a3.idx.nt.keep"),
    (Op::MoeContiguous, "e2m130n65k17a65.psum.nn.zero"),
    (Op::MoeContiguous, "e5m192n64k16a64.idx.nn.keep"),
    (Op::MoeContiguous, "e1m1n1k1a1.psum.nt.zero"),
    (Op::MoeContiguous, "e4m12n129k257a4.psum.nt.keep.fp8"),
    (Op::MoeMasked, "e2m65n3k5.nn.keep"),
    (Op::MoeMasked, "e3m63n65k31.nt.zero"),
    (Op::MoeMasked, "e1m1n1k1.nt.keep"),
    (Op::MoeMasked, "e2m7n129k130.nt.keep.fp8"),
    (Op::MoeRouted, "t3e5n257k257.top5.nt"),
    (Op::MoeRouted, "t1e1n1k1.top1.nn"),
    (Op::MoeRouted, "t2e7n3k300.top7.nn"),
    (Op::MoeRouted, "t3e5n129k257.top3.nt.fp8"),
    (Op::MoeRouted, "t1e1n1k1.top1.nt.fp8"),
];

/// Failing cases printed in full.
const SHOWN_FAILURES: usize = 4;

fn fail_with(failures: Vec<String>) {
    let shown: Vec<&str> = failures
        .iter()
        .take(SHOWN_FAILURES)
        .map(String::as_str)
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed; the first {}:\n{}",
        failures.len(),
        shown.len(),
        shown.join("\n")
    );
}

/// The default plan's fixed cases and [`EDGES`], for every kernel and variant.
fn fixed(backend: Arc<dyn Backend>) {
    let plan = Plan {
        random_cases: 0,
        ..Plan::default()
    };
    let mut failures = Vec::new();
    for op in OPS {
        let family = crosscheck::ops::family(op);
        for kernel in kernel_names(backend.as_ref(), op) {
            for variant in runnable_variants(backend.as_ref(), (op, &kernel)) {
                let mut planned = plan.cases(op, backend.name(), &kernel, variant);
                for (i, (edge_op, text)) in EDGES.iter().enumerate() {
                    if *edge_op != op {
                        continue;
                    }
                    let problem = family.parse_problem(text).expect("edges parse");
                    if !family.kernel_takes(&problem, &kernel) {
                        continue;
                    }
                    for (j, distribution) in [Distribution::Exact, Distribution::Specials]
                        .into_iter()
                        .enumerate()
                    {
                        planned.push(Case {
                            kernel: kernel.clone(),
                            backend: backend.name().into(),
                            variant,
                            problem: problem.clone(),
                            distribution,
                            seed: (i * 2 + j) as u64,
                        });
                    }
                }
                for case in planned {
                    if let Err(e) = check_case(&backend, &case) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    fail_with(failures);
}

/// A property config with a quarter of the usual random cases (at least 6): the MoE cells are
/// many, and the default matrix and the fixed cases cover every one besides.
fn light_config() -> Config {
    Config {
        cases: (cases_per_property() / 4).max(6),
        ..config()
    }
}

/// Small random problems of every kernel and variant.
fn properties(backend: Arc<dyn Backend>) {
    let seed = test_seed().expect("seed");
    let mut failures = Vec::new();
    for op in OPS {
        for kernel in kernel_names(backend.as_ref(), op) {
            for variant in runnable_variants(backend.as_ref(), (op, &kernel)) {
                let strategy = shapes::case(op, backend.name(), &kernel, variant);
                match smallest_failure_seeded(&backend, strategy, light_config(), seed) {
                    Ok(None) => {}
                    Ok(Some(minimal)) => failures.push(format!(
                        "{op}/{kernel} {variant} on {}: smallest failing case {}\n{}",
                        backend.name(),
                        minimal,
                        check_case(&backend, &minimal).err().unwrap_or_default()
                    )),
                    Err(why) => failures.push(format!("{op}/{kernel} {variant}: {why}")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nreplay: CROSSCHECK_SEED={seed:#x}",
        failures.join("\n")
    );
}

/// Cases of a DeepSeek-shaped problem strategy for one cell, any MoE distribution, any seed.
fn deepseek_cases(op: Op, kernel: &str, variant: Variant) -> BoxedStrategy<Case> {
    let problem: BoxedStrategy<Problem> = match op {
        Op::MoeContiguous => cases::deepseek_contiguous(kernel)
            .prop_map(Problem::MoeContiguous)
            .boxed(),
        Op::MoeMasked => cases::deepseek_masked(kernel)
            .prop_map(Problem::MoeMasked)
            .boxed(),
        _ => cases::deepseek_routed(kernel)
            .prop_map(Problem::MoeRouted)
            .boxed(),
    };
    let kernel = kernel.to_string();
    (
        problem,
        select(Distribution::for_op(op).to_vec()),
        any::<u64>(),
    )
        .prop_map(move |(problem, distribution, seed)| Case {
            kernel: kernel.clone(),
            backend: "cpu".into(),
            variant,
            problem,
            distribution,
            seed,
        })
        .boxed()
}

/// DeepSeek-V3's MoE shapes on the CPU — 256 experts, top-8 routing, DeepGEMM's 128-row
/// alignment, k = 7168 (hidden) or 2048 (expert intermediate), n scaled down — two random cases
/// per kernel, in f32 or bf16 by turns (`CROSSCHECK_CASES` ≥ 80 draws more).
fn deepseek_shapes_on_the_cpu() {
    let backend: Arc<dyn Backend> = Arc::new(CpuBackend);
    let seed = test_seed().expect("seed");
    let config = Config {
        cases: (cases_per_property() / 20).max(2),
        ..config()
    };
    let mut failures = Vec::new();
    for op in OPS {
        for (i, kernel) in kernel_names(backend.as_ref(), op).into_iter().enumerate() {
            // One precision per kernel, alternating, to keep the test in seconds.
            let variant = Variant::portable([Precision::F32, Precision::BF16][i % 2]);
            let strategy = deepseek_cases(op, &kernel, variant);
            match smallest_failure_seeded(&backend, strategy, config.clone(), seed) {
                Ok(None) => {}
                Ok(Some(minimal)) => failures.push(format!(
                    "{op}/{kernel} {variant}: {}",
                    check_case(&backend, &minimal).err().unwrap_or_default()
                )),
                Err(why) => failures.push(format!("{op}/{kernel} {variant}: {why}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nreplay: CROSSCHECK_SEED={seed:#x}",
        failures.join("\n")
    );
}

/// The CPU kernels with a bug planted into what they read or write.
struct Planted {
    name: &'static str,
    /// Rewrites the inputs of a launch before the CPU kernel reads them.
    inputs: fn(&Problem, &mut [HostTensor]),
    /// Rewrites the output after the CPU kernel wrote it.
    output: fn(&Problem, &mut OutputBuffer),
}

impl Backend for Planted {
    fn name(&self) -> &str {
        "cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        CpuBackend.kernels()
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        let mut owned: Vec<HostTensor> = inputs.iter().map(|t| (*t).clone()).collect();
        (self.inputs)(problem, &mut owned);
        let refs: Vec<&HostTensor> = owned.iter().collect();
        CpuBackend.run(kernel, variant, problem, &refs, output)?;
        (self.output)(problem, output);
        Ok(())
    }
}

fn keep_inputs(_: &Problem, _: &mut [HostTensor]) {}
fn keep_output(_: &Problem, _: &mut OutputBuffer) {}

/// Masked row counts ignored: every expert computes all max_m rows.
fn ignore_masked_counts(problem: &Problem, inputs: &mut [HostTensor]) {
    if let Problem::MoeMasked(p) = problem {
        inputs[2].bytes = i32_le_bytes(&vec![p.max_m as i32; p.experts]);
    }
}

/// Segment boundary off by one: every prefix-sum end one row later.
fn offsets_one_late(problem: &Problem, inputs: &mut [HostTensor]) {
    if let Problem::MoeContiguous(p) = problem
        && p.grouping == crosscheck_spec::Grouping::Offsets
    {
        let ends: Vec<i32> = i32_le_values(&inputs[2].bytes)
            .into_iter()
            .map(|e| (e + 1).min(p.m as i32))
            .collect();
        inputs[2].bytes = i32_le_bytes(&ends);
    }
}

/// Routing weights applied twice: each weight squared.
fn weights_twice(problem: &Problem, inputs: &mut [HostTensor]) {
    if let Problem::MoeRouted(_) = problem {
        let squared: Vec<u8> = inputs[3]
            .to_f32()
            .iter()
            .flat_map(|w| (w * w).to_le_bytes())
            .collect();
        inputs[3].bytes = squared;
    }
}

/// FP8 activations scaled with the next token's 1×128 scales (the last token's with the
/// first's): each token's row of scales rotated by one.
fn fp8_scales_of_the_next_token(problem: &Problem, inputs: &mut [HostTensor]) {
    if let Problem::MoeRouted(p) = problem
        && p.fp8
    {
        let row = 4 * p.k.div_ceil(crosscheck_spec::FP8_TILE);
        inputs[0].bytes[..row * p.tokens].rotate_left(row);
    }
}

/// Padding rows written: every element the kernel left alone set to zero.
fn zero_the_rest(_: &Problem, output: &mut OutputBuffer) {
    let precision = output.precision();
    let poison = crosscheck::guards::poison_bits(precision);
    let size = precision.bytes();
    for i in 0..output.len() {
        if precision.bits(&output.payload()[i * size..(i + 1) * size]) == poison {
            output.write(i, 0.0);
        }
    }
}

/// What a planted bug's smallest failing case must fail with.
type Expected = fn(&Case, &[Failure]) -> bool;

/// Each planted bug is caught by small random problems and shrinks to a tiny case, and the
/// failure is the one it should be (a written padding row is a guard failure, not a mismatch).
fn planted_bugs_are_caught_and_shrink() {
    let plants: [(Planted, Op, &str, Expected); 6] = [
        (
            Planted {
                name: "masked counts ignored",
                inputs: ignore_masked_counts,
                output: keep_output,
            },
            Op::MoeMasked,
            "naive",
            |_, _| true,
        ),
        (
            Planted {
                name: "prefix-sum ends one row late",
                inputs: offsets_one_late,
                output: keep_output,
            },
            Op::MoeContiguous,
            "naive",
            |_, _| true,
        ),
        (
            Planted {
                name: "routing weights applied twice",
                inputs: weights_twice,
                output: keep_output,
            },
            Op::MoeRouted,
            "naive",
            |_, f| f.iter().all(|f| matches!(f, Failure::Mismatch { .. })),
        ),
        (
            Planted {
                name: "FP8 routing weights applied twice",
                inputs: weights_twice,
                output: keep_output,
            },
            Op::MoeRouted,
            "fp8",
            |_, f| f.iter().all(|f| matches!(f, Failure::Mismatch { .. })),
        ),
        (
            Planted {
                name: "FP8 activation scales of the next token",
                inputs: fp8_scales_of_the_next_token,
                output: keep_output,
            },
            Op::MoeRouted,
            "fp8",
            |_, f| f.iter().all(|f| matches!(f, Failure::Mismatch { .. })),
        ),
        (
            Planted {
                name: "padding rows written",
                inputs: keep_inputs,
                output: zero_the_rest,
            },
            Op::MoeContiguous,
            "naive",
            |_, f| f.iter().any(|f| matches!(f, Failure::Touched { .. })),
        ),
    ];
    let seed = test_seed().expect("seed");
    let config = Config {
        cases: 256,
        ..config()
    };
    let f32 = Variant::portable(Precision::F32);
    for (plant, op, kernel, expected) in plants {
        let name = plant.name;
        let backend: Arc<dyn Backend> = Arc::new(plant);
        let strategy = shapes::case(op, "cpu", kernel, f32);
        let minimal = smallest_failure_seeded(&backend, strategy, config.clone(), seed)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: not caught in 256 cases (seed {seed:#x})"));
        assert!(
            minimal.problem.work() <= 8,
            "{name}: shrank only to {minimal} (seed {seed:#x})"
        );
        let Ok(CaseResult::Judged { verdict, .. }) = run_case(&backend, &minimal) else {
            panic!("{name}: {minimal} was not judged");
        };
        assert!(
            expected(&minimal, &verdict.failures),
            "{name}: {minimal} failed with {:?}",
            verdict.failures
        );
        assert!(
            check_case(&(Arc::new(CpuBackend) as Arc<dyn Backend>), &minimal).is_ok(),
            "{name}: the correct kernel fails {minimal} too"
        );
    }
}

/// A planted bug caught on a DeepSeek-shaped case (256 experts, k = 7168) shrinks by the greedy
/// pass to a case of a handful of elements within seconds.
fn a_deepseek_failure_shrinks_to_a_tiny_case() {
    let backend: Arc<dyn Backend> = Arc::new(Planted {
        name: "masked counts ignored",
        inputs: ignore_masked_counts,
        output: keep_output,
    });
    let case: Case = "moe_masked.tiled:cpu:bf16:e256m8n8k7168.nt.keep:normal:0x5eed"
        .parse()
        .unwrap();
    assert!(check_case(&backend, &case).is_err(), "not caught");
    let small = minimize_within(&backend, case, Duration::from_secs(60));
    let Problem::MoeMasked(p) = small.problem else {
        unreachable!()
    };
    assert!(
        p.experts == 1 && p.k == 1 && p.n == 1 && p.max_m <= 2,
        "shrank only to {small}"
    );
}

/// The untouched rule is judged by the guard: zeroing the padding rows fails a problem that says
/// to leave them untouched (and only with a guard failure), and passes one that says to zero them.
fn untouched_padding_is_judged_by_the_guard() {
    let planted: Arc<dyn Backend> = Arc::new(Planted {
        name: "padding rows written",
        inputs: keep_inputs,
        output: zero_the_rest,
    });
    let correct: Arc<dyn Backend> = Arc::new(CpuBackend);
    let keep: Case = "moe_contiguous.naive:cpu:f32:e2m8n3k5a4.idx.nt.keep:normal:0x0"
        .parse()
        .unwrap();
    // The first seed whose layout has padding rows.
    let keep = (0..)
        .map(|seed| Case {
            seed,
            ..keep.clone()
        })
        .find(|case| {
            let Problem::MoeContiguous(p) = &case.problem else {
                unreachable!()
            };
            let inputs = crosscheck::generate::inputs(case);
            let r = crosscheck_reference::moe::contiguous(p, &inputs).unwrap();
            r.row_experts.contains(&None)
        })
        .unwrap();
    let Ok(CaseResult::Judged { verdict, .. }) = run_case(&planted, &keep) else {
        panic!("not judged")
    };
    assert!(!verdict.passed(), "{keep}");
    assert!(
        verdict
            .failures
            .iter()
            .all(|f| matches!(f, Failure::Touched { .. })),
        "{keep}: {:?}",
        verdict.failures
    );
    let zero = Case {
        problem: crosscheck::ops::family(Op::MoeContiguous)
            .parse_problem("e2m8n3k5a4.idx.nt.zero")
            .unwrap(),
        ..keep.clone()
    };
    assert!(check_case(&planted, &zero).is_ok(), "{zero}");
    assert!(check_case(&correct, &keep).is_ok(), "{keep}");
}

/// Every backend offers every MoE kernel, the routed combination's FP8 one included: the float
/// ones in every variant it runs, the FP8 ones in f32 and bf16 (DeepGEMM writes bf16).
fn every_backend_offers_the_moe_kernels() {
    for backend in &crosscheck::registry().all {
        let kernels = backend.kernels();
        for op in OPS {
            let names: Vec<&str> = kernels
                .iter()
                .filter(|k| k.op == op)
                .map(|k| k.name.as_str())
                .collect();
            assert!(
                names.contains(&"naive") && names.contains(&"tiled"),
                "{} {op}: {names:?}",
                backend.name()
            );
            let fp8 = kernels.iter().find(|k| k.op == op && k.name == "fp8");
            let fp8 = fp8.unwrap_or_else(|| panic!("{} lacks {op}/fp8", backend.name()));
            let precisions: Vec<Precision> =
                fp8.variants.iter().map(|v| v.variant.precision).collect();
            assert_eq!(precisions, vec![Precision::F32, Precision::BF16]);
        }
    }
}

/// Every API this crate's wgpu backends may run on, after the CPU.
const APIS: [&str; 5] = ["cpu", "vulkan", "gl", "metal", "dx12"];

fn main() {
    let mut suite = Suite::new();
    for api in APIS {
        suite.on_backend(format!("fixed_{api}"), api, fixed);
    }
    for api in APIS {
        suite.on_backend(format!("properties_{api}"), api, properties);
    }
    suite
        .test("deepseek_shapes_on_the_cpu", deepseek_shapes_on_the_cpu)
        .test(
            "planted_bugs_are_caught_and_shrink",
            planted_bugs_are_caught_and_shrink,
        )
        .test(
            "a_deepseek_failure_shrinks_to_a_tiny_case",
            a_deepseek_failure_shrinks_to_a_tiny_case,
        )
        .test(
            "untouched_padding_is_judged_by_the_guard",
            untouched_padding_is_judged_by_the_guard,
        )
        .test(
            "every_backend_offers_the_moe_kernels",
            every_backend_offers_the_moe_kernels,
        );
    suite.run_and_exit()
}
