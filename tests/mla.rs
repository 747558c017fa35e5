//! MLA decode conformance: shrinking properties over small and DeepSeek-sized shapes (576/512,
//! 64-token pages) on every backend, DeepSeek's 128-head decode on the CPU, long decodes the
//! split-KV kernels (dense and FP8) run where the one-pass ones cannot, and planted bugs the
//! judge must catch — NaN from an unused page in O, an LSE off by more than its own bound, an
//! empty row's LSE not +∞. A test of a missing backend is listed as ignored with the reason, or
//! fails when CROSSCHECK_REQUIRE lists it (`harness = false`, see `crosscheck::testing::Suite`).

use std::sync::Arc;

use crosscheck::case::{Case, Distribution};
use crosscheck::generate::shapes;
use crosscheck::testing::{
    Altered, Suite, as_declared, check_case, check_property, kernel_names, runnable_variants,
};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, KernelError, Op, OutputBuffer, Precision, Problem, Variant};

fn property(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for kernel in kernel_names(backend.as_ref(), Op::Mla) {
        for variant in runnable_variants(backend.as_ref(), (Op::Mla, &kernel)) {
            let strategy = shapes::case(Op::Mla, backend.name(), &kernel, variant);
            if let Err(e) = check_property(&backend, strategy) {
                failures.push(format!("mla/{kernel} {variant} on {}: {e}", backend.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn case(kernel: &str, precision: Precision, problem: &str, distribution: Distribution) -> Case {
    let mut case: Case = format!("mla.{kernel}:cpu:f32:{problem}:normal:0x0")
        .parse()
        .expect("valid problem id");
    case.variant = Variant::portable(precision);
    case.distribution = distribution;
    case.seed = 11;
    case
}

/// DeepSeek V3's decode as FlashMLA runs it: 128 query heads over one 576-wide latent head,
/// V the first 512 columns, 64-token pages, dense bf16 and the FP8 cache; and two queries
/// (speculative decoding) with the causal mask. CPU only: llvmpipe would take minutes.
fn deepseek_shapes_on_the_cpu() {
    let backend: Arc<dyn Backend> = Arc::new(CpuBackend);
    let cases = [
        case(
            "flash",
            Precision::BF16,
            "b2h128q1l512r64p64m4",
            Distribution::Normal,
        ),
        case(
            "naive",
            Precision::F32,
            "b1h128q2l512r64p64m3.causal",
            Distribution::LargeLogits,
        ),
        case(
            "flash_fp8",
            Precision::BF16,
            "b2h128q1l512r64p64m4.fp8",
            Distribution::Normal,
        ),
        case(
            "naive_fp8",
            Precision::BF16,
            "b1h128q1l512r64p64m2.fp8",
            Distribution::Uniform,
        ),
        case(
            "splitkv",
            Precision::BF16,
            "b2h128q1l512r64p64m4",
            Distribution::LargeLogits,
        ),
        case(
            "splitkv_fp8",
            Precision::BF16,
            "b1h128q2l512r64p64m3.causal.fp8",
            Distribution::Normal,
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(&backend, c).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// DeepSeek's 576/512 decode over 8,192 tokens (128 pages of 64), 16 heads, and over the FP8
/// cache 4,096 tokens, 8 heads: on llvmpipe the one-pass flash kernels need ~17 loop iterations
/// a token and answer Unsupported past ~3,800 tokens; the split-KV kernels cut the tokens into
/// splits of 64 and must run and pass.
fn long_decode(backend: Arc<dyn Backend>) {
    let decodes = [
        ("splitkv", "flash", Precision::F32, "b1h16q1l512r64p64m128"),
        (
            "splitkv_fp8",
            "flash_fp8",
            Precision::BF16,
            "b1h8q1l512r64p64m64.fp8",
        ),
    ];
    for (split, one_pass, precision, problem) in decodes {
        let mut case = case(split, precision, problem, Distribution::Normal);
        case.backend = backend.name().into();
        if backend.device().device.contains("llvmpipe") {
            match backend.check(one_pass, case.variant, &case.problem) {
                Err(KernelError::Unsupported(why)) => assert!(why.contains("65535"), "{why}"),
                other => panic!("{one_pass} on {problem}: expected Unsupported, got {other:?}"),
            }
        }
        if let Err(e) = check_case(&backend, &case) {
            panic!("{e}");
        }
    }
}

/// The CPU flash kernel with its output rewritten by `after`, judged on `problem`.
fn planted(
    problem: &str,
    after: impl Fn(&Problem, &mut OutputBuffer) + Send + Sync + 'static,
) -> Result<(), String> {
    let backend: Arc<dyn Backend> = Arc::new(Altered {
        inner: CpuBackend,
        name: "cpu",
        declare: as_declared,
        after,
    });
    check_case(
        &backend,
        &case("flash", Precision::F32, problem, Distribution::Normal),
    )
}

fn value(out: &OutputBuffer, i: usize) -> f32 {
    Precision::F32.decode(&out.payload()[4 * i..4 * i + 4])
}

/// (row width, rows) of an MLA output.
fn rows(problem: &Problem) -> (usize, usize) {
    let shape = problem.output_shape();
    (shape[3], shape[0] * shape[1] * shape[2])
}

/// Reading one unused (NaN) page slot into a row makes O NaN there: a FAIL.
fn nan_from_an_unused_page_fails() {
    let problem = "b2h2q1l16r4p4m3";
    planted(problem, |_, _| {}).expect("the kernel passes as computed");
    let err = planted(problem, |_, out| out.write(3, f32::NAN)).unwrap_err();
    assert!(err.contains("O[0,0,0,3]"), "{err}");
}

/// The LSE column is judged by its own bound: moving every LSE by 64 ulps of f32 (far below
/// what O's weight allowance would tolerate for values of that size) fails, moving it by the
/// f32 rounding of its value passes.
fn lse_is_judged_by_its_own_bound() {
    let problem = "b2h4q1l64r8p8m3";
    let shift = |factor: f32| {
        move |p: &Problem, out: &mut OutputBuffer| {
            let (width, count) = rows(p);
            for r in 0..count {
                let at = r * width + width - 1;
                let v = value(out, at);
                if v.is_finite() {
                    out.write(at, v + factor * v.abs().max(1.0) * f32::EPSILON);
                }
            }
        }
    };
    planted(problem, shift(0.0)).expect("unchanged passes");
    let err = planted(problem, shift(64.0)).unwrap_err();
    assert!(err.contains(",0,64]"), "the LSE column fails: {err}");
}

/// A row that sees no token (causal, more queries than cached tokens) has O = 0 and LSE = +∞,
/// FlashMLA's convention; a kernel that leaves −∞ or 0 there fails.
fn empty_rows_have_an_infinite_lse() {
    // Sequence 0 holds exactly 2 tokens (pages of 1): queries 0..=2 of 5 see none.
    let problem = "b1h1q5l8r0p1m2.causal";
    planted(problem, |_, _| {}).expect("the kernel passes as computed");
    let err = planted(problem, |_, out| out.write(8, f32::NEG_INFINITY)).unwrap_err();
    assert!(err.contains("O[0,0,0,8]"), "{err}");
}

/// The backends every property runs on (a missing one is ignored with the reason).
const APIS: [&str; 3] = ["cpu", "vulkan", "gl"];

fn main() {
    let mut suite = Suite::new();
    for api in APIS {
        suite.on_backend(format!("properties_{api}"), api, property);
    }
    for api in ["vulkan", "gl"] {
        suite.on_backend(format!("long_decode_{api}"), api, long_decode);
    }
    suite.test("deepseek_shapes_on_the_cpu", deepseek_shapes_on_the_cpu);
    suite.test(
        "nan_from_an_unused_page_fails",
        nan_from_an_unused_page_fails,
    );
    suite.test(
        "lse_is_judged_by_its_own_bound",
        lse_is_judged_by_its_own_bound,
    );
    suite.test(
        "empty_rows_have_an_infinite_lse",
        empty_rows_have_an_infinite_lse,
    );
    suite.run_and_exit()
}
