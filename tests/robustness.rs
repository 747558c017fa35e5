//! The guards and the typed errors: deliberately broken kernels (an element left unwritten, a
//! write past the end, a panic, a shader that does not compile) are each caught and reported as
//! such, and invalid problems get a typed error before anything runs, on every backend. A test of
//! a missing wgpu backend is listed as ignored with the reason, or fails when CROSSCHECK_REQUIRE
//! lists the backend (`harness = false`, see `crosscheck::testing::Suite`).

use std::sync::Arc;

use crosscheck::case::{Case, Distribution};
use crosscheck::judge::Failure;
use crosscheck::run::cell::run_case_within;
use crosscheck::run::{CaseResult, run_case};
use crosscheck::testing::{Suite, wgpu_backend};
use crosscheck_kernels::{CpuBackend, WgpuBackend};
use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelId, KernelInfo, Layout, MatmulProblem, Op,
    OutputBuffer, Precision, Problem, QuantFormat, QuantMatmulProblem, QuantizeProblem, Variant,
};

/// How [`Broken`] misbehaves.
#[derive(Clone, Copy)]
enum Breakage {
    LeaveLastUnwritten,
    WriteOnePastTheEnd,
    PanicInRun,
    PanicInCheck,
    NeverReturns,
}

/// A CPU backend that computes correctly, then breaks the result in one deliberate way.
struct Broken(Breakage);

impl Backend for Broken {
    fn name(&self) -> &str {
        "broken-cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        CpuBackend.kernels()
    }
    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        if let Breakage::PanicInCheck = self.0 {
            panic!("deliberate panic while checking");
        }
        CpuBackend.check(kernel, variant, problem)
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        let mut scratch = OutputBuffer::new(output.precision(), output.len(), 0);
        CpuBackend.run(kernel, variant, problem, inputs, &mut scratch)?;
        let size = output.precision().bytes();
        let payload = output.payload_len();
        match self.0 {
            Breakage::LeaveLastUnwritten => {
                output.bytes_mut()[..payload - size]
                    .copy_from_slice(&scratch.payload()[..payload - size]);
            }
            Breakage::WriteOnePastTheEnd => {
                output.bytes_mut()[..payload].copy_from_slice(scratch.payload());
                output.bytes_mut()[payload..payload + size]
                    .copy_from_slice(&scratch.payload()[..size]);
            }
            Breakage::PanicInRun => panic!("deliberate panic in a test kernel"),
            Breakage::NeverReturns => loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            },
            Breakage::PanicInCheck => unreachable!("check panicked first"),
        }
        Ok(())
    }
}

fn case(backend: &str, kernel: &str, variant: Variant, m: usize, n: usize, k: usize) -> Case {
    Case {
        kernel: kernel.into(),
        backend: backend.into(),
        variant,
        problem: Problem::Matmul(MatmulProblem {
            batch: 2,
            m,
            n,
            k,
            a_layout: Layout::RowMajor,
            b_layout: Layout::ColMajor,
            b_broadcast: false,
        }),
        distribution: Distribution::Uniform,
        seed: 1,
    }
}

fn failures(backend: impl Backend + 'static, case: &Case) -> Vec<Failure> {
    check(&(Arc::new(backend) as Arc<dyn Backend>), case)
}

/// The failures of `case` on a backend already behind an Arc.
fn check(backend: &Arc<dyn Backend>, case: &Case) -> Vec<Failure> {
    match run_case(backend, case) {
        Ok(CaseResult::Judged { verdict, .. }) => verdict.failures,
        other => panic!("{case} was not judged: {other:?}"),
    }
}

fn variants() -> [Variant; 3] {
    [Precision::F32, Precision::F16, Precision::BF16].map(Variant::portable)
}

fn an_unwritten_element_is_caught_and_named() {
    for variant in variants() {
        let c = case("broken-cpu", "naive", variant, 3, 5, 4);
        let last = c.problem.output_len() - 1;
        let f = failures(Broken(Breakage::LeaveLastUnwritten), &c);
        assert_eq!(
            f,
            vec![Failure::Unwritten {
                count: 1,
                first: last
            }],
            "{variant}"
        );
    }
}

fn a_write_past_the_end_is_caught_and_named() {
    for variant in variants() {
        let c = case("broken-cpu", "tiled", variant, 3, 5, 4);
        let end = c.problem.output_len() * variant.precision.bytes();
        let f = failures(Broken(Breakage::WriteOnePastTheEnd), &c);
        assert!(
            matches!(f.as_slice(), [Failure::OutOfBounds { first_offset, .. }] if *first_offset == end),
            "{variant}: {f:?}"
        );
    }
}

fn a_panicking_backend_fails_only_its_case() {
    let v = Variant::portable(Precision::F32);
    for breakage in [Breakage::PanicInRun, Breakage::PanicInCheck] {
        let f = failures(Broken(breakage), &case("broken-cpu", "naive", v, 2, 2, 2));
        assert!(
            matches!(f.as_slice(), [Failure::Panicked(msg)] if msg.contains("deliberate panic")),
            "{f:?}"
        );
    }
    // The process and the real backend carry on.
    assert!(failures(CpuBackend, &case("cpu", "naive", v, 2, 2, 2)).is_empty());
}

fn a_kernel_that_never_returns_gets_a_timeout_verdict_in_bounded_time() {
    let v = Variant::portable(Precision::F32);
    let hung: Arc<dyn Backend> = Arc::new(Broken(Breakage::NeverReturns));
    let started = std::time::Instant::now();
    let limit = std::time::Duration::from_millis(500);
    let result = run_case_within(&hung, &case("broken-cpu", "naive", v, 2, 2, 2), limit).unwrap();
    let verdict = result.verdict().expect("judged");
    assert_eq!(
        verdict.failures,
        vec![Failure::Error(KernelError::Timeout(limit))]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The run carries on with the next case.
    assert!(failures(CpuBackend, &case("cpu", "naive", v, 2, 2, 2)).is_empty());
}

/// The naive WGSL matmul.
const NAIVE: KernelId = KernelId::fixed(Op::Matmul, "naive");

/// Patches the naive WGSL kernel, checking that the text to replace is really there.
fn patched(backend: &WgpuBackend, from: &'static str, to: &'static str) -> WgpuBackend {
    let source = backend
        .module_source(&NAIVE, Variant::portable(Precision::F32))
        .unwrap();
    assert!(
        source.contains(from),
        "patch target `{from}` is not in the naive kernel"
    );
    backend.with_patch(NAIVE, move |s| s.replace(from, to))
}

const STORE: &str = "store_c((batch * p.m + row) * p.n + col, acc);";

fn broken_shaders_are_caught(gpu: WgpuBackend) {
    let api = gpu.device().api;
    let unwritten = patched(
        &gpu,
        STORE,
        "if (batch + row + col != 0u) { store_c((batch * p.m + row) * p.n + col, acc); }",
    );
    let past_end = patched(
        &gpu,
        STORE,
        "store_c((batch * p.m + row) * p.n + col, acc);\n    \
         if (batch == p.batch - 1u && row == p.m - 1u && col == p.n - 1u) { store_c(p.batch * p.m * p.n, acc); }",
    );
    let broken_syntax = patched(&gpu, "var acc = 0.0;", "var acc = 0.0 +;");
    for variant in variants() {
        let c = case(gpu.name(), "naive", variant, 3, 5, 4);
        let f = failures(unwritten.clone(), &c);
        assert_eq!(
            f,
            vec![Failure::Unwritten { count: 1, first: 0 }],
            "{api} {variant}"
        );
        let end = c.problem.output_len() * variant.precision.bytes();
        let f = failures(past_end.clone(), &c);
        assert!(
            matches!(f.as_slice(), [Failure::OutOfBounds { first_offset, .. }] if *first_offset == end),
            "{api} {variant}: {f:?}"
        );
        let f = failures(broken_syntax.clone(), &c);
        assert!(
            matches!(f.as_slice(), [Failure::Error(KernelError::Compile(msg))] if msg.contains("does not compile")),
            "{api} {variant}: {f:?}"
        );
        // The device survives all of it.
        assert!(
            failures(gpu.clone(), &c).is_empty(),
            "{api} {variant}: correct kernel failed after broken ones"
        );
    }
}

fn f32_tensor(shape: Vec<usize>, layout: Layout) -> HostTensor {
    let len: usize = shape.iter().product();
    HostTensor {
        shape,
        layout,
        precision: Precision::F32,
        bytes: vec![0; len * 4],
    }
}

/// Every backend answers malformed or oversized problems with a typed error, before running,
/// and keeps working afterwards.
fn invalid_problems_get_typed_errors_on_every_backend() {
    let v = Variant::portable(Precision::F32);
    let good = MatmulProblem {
        batch: 1,
        m: 3,
        n: 4,
        k: 5,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    };
    let a = f32_tensor(good.a_shape(), Layout::RowMajor);
    let b = f32_tensor(good.b_shape(), Layout::RowMajor);
    for backend in &crosscheck::registry().all {
        for kernel in ["naive", "tiled"] {
            let name = format!("{} {kernel}", backend.name());
            let run = |p: &MatmulProblem, inputs: &[&HostTensor], out_len: usize| {
                let mut out = OutputBuffer::new(Precision::F32, out_len, 64);
                backend.run(kernel, v, &Problem::Matmul(*p), inputs, &mut out)
            };
            let zero = MatmulProblem { k: 0, ..good };
            assert!(
                matches!(
                    backend.check(kernel, v, &Problem::Matmul(zero)),
                    Err(KernelError::InvalidProblem(_))
                ),
                "{name}"
            );
            assert!(
                matches!(
                    run(&zero, &[&a, &b], 12),
                    Err(KernelError::InvalidProblem(_))
                ),
                "{name}"
            );
            let mut short = b.clone();
            short.bytes.truncate(8);
            assert!(
                matches!(
                    run(&good, &[&a, &short], 12),
                    Err(KernelError::InvalidProblem(_))
                ),
                "{name}"
            );
            assert!(
                matches!(run(&good, &[&a], 12), Err(KernelError::InvalidProblem(_))),
                "{name}"
            );
            assert!(
                matches!(
                    run(&good, &[&a, &b], 11),
                    Err(KernelError::InvalidProblem(_))
                ),
                "{name}"
            );
            let wrong_layout = f32_tensor(good.b_shape(), Layout::ColMajor);
            assert!(
                matches!(
                    run(&good, &[&a, &wrong_layout], 12),
                    Err(KernelError::InvalidProblem(_))
                ),
                "{name}"
            );
            let overflow = MatmulProblem {
                m: usize::MAX / 2,
                k: 4,
                ..good
            };
            assert!(
                backend
                    .check(kernel, v, &Problem::Matmul(overflow))
                    .is_err(),
                "{name}"
            );
            assert!(run(&overflow, &[&a, &b], 12).is_err(), "{name}");
            let unknown = backend.check("no-such-kernel", v, &Problem::Matmul(good));
            assert!(
                matches!(unknown, Err(KernelError::Unsupported(_))),
                "{name}: {unknown:?}"
            );
            let c = case(backend.name(), kernel, v, 3, 4, 5);
            assert!(
                check(backend, &c).is_empty(),
                "{name} broke after invalid problems"
            );
        }
        // A quantized kernel handles its own family's formats only.
        let q4 = QuantizeProblem {
            format: QuantFormat::Q4_0,
            rows: 2,
            cols: 64,
        };
        let foreign = [
            ("q8_0", Problem::Quantize(q4)),
            ("int8", Problem::dequantize(q4)),
            (
                "fp8",
                Problem::QuantMatmul(QuantMatmulProblem::new(QuantFormat::Q8_0, 1, 2, 32)),
            ),
        ];
        for (kernel, problem) in foreign {
            let answer = backend.check(kernel, v, &problem);
            assert!(
                matches!(answer, Err(KernelError::Unsupported(_))),
                "{} {kernel} given {problem:?}: {answer:?}",
                backend.name()
            );
        }
    }
}

/// Problems past a device's limits are refused by `check` with the reason, without allocating.
fn problems_beyond_device_limits_are_unsupported_before_dispatch() {
    let v = Variant::portable(Precision::F32);
    let huge = MatmulProblem {
        batch: 1,
        m: 1 << 16,
        n: 8,
        k: 1 << 16,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    };
    let tall = MatmulProblem {
        m: 1 << 24,
        n: 1,
        k: 1,
        ..huge
    };
    for gpu in &crosscheck::registry().wgpu {
        for problem in [huge, tall] {
            let r = gpu.check("tiled", v, &Problem::Matmul(problem));
            assert!(
                matches!(&r, Err(KernelError::Unsupported(why)) if why.contains(gpu.name())),
                "{r:?}"
            );
        }
    }
}

/// A CPU backend that reads subnormal inputs as zero, declaring (or not) that it may.
struct Flushing {
    declares_flush: bool,
}

impl Backend for Flushing {
    fn name(&self) -> &str {
        "flushing-cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        let mut kernels = CpuBackend.kernels();
        for v in kernels.iter_mut().flat_map(|k| k.variants.iter_mut()) {
            if self.declares_flush {
                v.contract.subnormals = crosscheck_spec::Subnormals::MayFlush;
            }
        }
        kernels
    }
    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        CpuBackend.check(kernel, variant, problem)
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        let flushed: Vec<HostTensor> = inputs
            .iter()
            .map(|t| {
                let tiny = t.precision.min_normal() as f32;
                let values: Vec<f32> = t
                    .to_f32()
                    .into_iter()
                    .map(|v| {
                        if v.abs() < tiny {
                            0.0f32.copysign(v)
                        } else {
                            v
                        }
                    })
                    .collect();
                HostTensor {
                    bytes: crosscheck_reference::codec::encode(t.precision, &values),
                    ..(*t).clone()
                }
            })
            .collect();
        let refs: Vec<&HostTensor> = flushed.iter().collect();
        CpuBackend.run(kernel, variant, problem, &refs, output)
    }
}

fn flushed_subnormals_are_a_finding_where_declared_and_a_failure_where_not() {
    let mut c = case(
        "flushing-cpu",
        "naive",
        Variant::portable(Precision::F16),
        9,
        11,
        40,
    );
    c.distribution = Distribution::Specials;
    let judge = |declares_flush| {
        let backend: Arc<dyn Backend> = Arc::new(Flushing { declares_flush });
        match run_case(&backend, &c) {
            Ok(CaseResult::Judged { verdict, .. }) => verdict,
            other => panic!("{other:?}"),
        }
    };
    let declared = judge(true);
    assert!(
        declared.passed() && declared.findings.len() == 1,
        "{declared:?}"
    );
    assert!(declared.findings[0].contains("subnormal"));
    let undeclared = judge(false);
    assert!(
        !undeclared.passed(),
        "a backend promising IEEE subnormals must not flush them"
    );
}

fn main() {
    let mut suite = Suite::new();
    for api in ["vulkan", "gl"] {
        suite.needing(
            format!("broken_shaders_are_caught_on_{api}"),
            wgpu_backend(api),
            broken_shaders_are_caught,
        );
    }
    suite.test(
        "an_unwritten_element_is_caught_and_named",
        an_unwritten_element_is_caught_and_named,
    );
    suite.test(
        "a_write_past_the_end_is_caught_and_named",
        a_write_past_the_end_is_caught_and_named,
    );
    suite.test(
        "a_panicking_backend_fails_only_its_case",
        a_panicking_backend_fails_only_its_case,
    );
    suite.test(
        "a_kernel_that_never_returns_gets_a_timeout_verdict_in_bounded_time",
        a_kernel_that_never_returns_gets_a_timeout_verdict_in_bounded_time,
    );
    suite.test(
        "invalid_problems_get_typed_errors_on_every_backend",
        invalid_problems_get_typed_errors_on_every_backend,
    );
    suite.test(
        "problems_beyond_device_limits_are_unsupported_before_dispatch",
        problems_beyond_device_limits_are_unsupported_before_dispatch,
    );
    suite.test(
        "flushed_subnormals_are_a_finding_where_declared_and_a_failure_where_not",
        flushed_subnormals_are_a_finding_where_declared_and_a_failure_where_not,
    );
    suite.run_and_exit()
}
