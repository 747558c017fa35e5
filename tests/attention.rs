//! Attention conformance on every backend: shrinking properties over shapes, heads, masks,
//! scales and every distribution (large logits, near-uniform, peaked, constant V, NaN in K or
//! V), plus fixed cases for the semantics users rely on: masks aligned to the end, fully masked
//! rows, GQA/MQA head mapping, multi-head-latent widths and the exact tier. A test of a missing
//! backend is listed as ignored with the reason, or fails when CROSSCHECK_REQUIRE lists the
//! backend (`harness = false`, see `crosscheck::testing::Suite`).

use std::sync::Arc;

use crosscheck::case::{Case, Distribution};
use crosscheck::generate::shapes;
use crosscheck::testing::{Suite, check_case, check_property, kernel_names, runnable_variants};
use crosscheck_spec::{Backend, KernelError, Op, Precision, Problem, Variant};

fn property(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for kernel in kernel_names(backend.as_ref(), Op::Attention) {
        for variant in runnable_variants(backend.as_ref(), (Op::Attention, &kernel)) {
            let strategy = shapes::case(Op::Attention, backend.name(), &kernel, variant);
            if let Err(e) = check_property(&backend, strategy) {
                failures.push(format!(
                    "attention/{kernel} {variant} on {}: {e}",
                    backend.name()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (problem id, distribution): each names a semantic that a port gets wrong.
const SEMANTICS: &[(&str, Distribution)] = &[
    // Decoding with a KV cache: one query at the end of 300 keys, causal, MQA.
    ("b1h4g1q1k300d64v64.causal", Distribution::Normal),
    // More queries than keys: the first rows see nothing and must be zeros.
    ("b1h1g1q9k4d8v8.causal", Distribution::Normal),
    // len_q < len_kv: the causal mask is aligned to the end, not the start.
    ("b1h2g2q5k37d16v16.causal", Distribution::Normal),
    // Sliding window, with and without causal; a window of 1 leaves one key per row.
    ("b1h2g1q33k33d32v32.causal.w7", Distribution::Normal),
    ("b1h1g1q20k50d8v8.w5", Distribution::Normal),
    ("b2h2g2q17k17d16v16.causal.w1", Distribution::Normal),
    // GQA with several kv heads (h / ratio, not h % heads_kv), and multi-head latent widths.
    ("b2h8g2q9k21d24v8", Distribution::Normal),
    ("b1h4g4q7k19d192v128.causal", Distribution::Normal),
    // Default scale 1/√d_qk versus a custom one.
    ("b1h1g1q8k8d64v16", Distribution::Normal),
    ("b1h1g1q8k8d64v16.s0.3", Distribution::Normal),
    // Max subtraction, online rescaling across tiles, dominant keys, flat attention.
    ("b1h2g1q3k70d64v64", Distribution::LargeLogits),
    ("b1h1g1q40k300d16v16.causal", Distribution::LargeLogits),
    ("b1h2g1q5k90d32v32", Distribution::Peaked),
    ("b1h2g1q5k90d32v32", Distribution::NearUniform),
    // Exact tier: V constant along keys; NaN reaching exactly the rows that see it.
    ("b1h2g1q17k67d48v40.causal", Distribution::ConstV),
    ("b1h2g2q13k29d16v16.causal", Distribution::NanKey),
    ("b1h2g2q13k29d16v16.causal.w6", Distribution::NanValue),
    // Keys scoring −∞ weigh 0, even a whole tile of them; rows that see only them are NaN.
    ("b1h2g1q40k40d16v16.causal", Distribution::NegInfKeys),
    ("b2h2g1q3k70d16v16", Distribution::NegInfKeys),
];

fn semantics(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for kernel in kernel_names(backend.as_ref(), Op::Attention) {
        for variant in runnable_variants(backend.as_ref(), (Op::Attention, &kernel)) {
            for (i, &(problem, distribution)) in SEMANTICS.iter().enumerate() {
                let case = Case {
                    kernel: kernel.clone(),
                    backend: backend.name().into(),
                    variant,
                    problem: problem_from_id(problem),
                    distribution,
                    seed: i as u64,
                };
                if let Err(e) = check_case(&backend, &case) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn problem_from_id(id: &str) -> Problem {
    let case: Case = format!("attention.naive:cpu:f32:{id}:normal:0x0")
        .parse()
        .expect("valid problem id");
    case.problem
}

/// The bound is not vacuous: with V constant along keys, or a single visible key, the weight
/// term vanishes and only the accumulation rounding γ_N·|v| is left (N = 128 for the CPU flash
/// kernel at 40 keys), while generic data gets a real weight allowance on top.
fn constant_v_and_single_key_rows_leave_only_rounding_room() {
    use crosscheck::generate::inputs;
    use crosscheck::run::expect::expectation;
    use crosscheck_kernels::CpuBackend;
    use crosscheck_spec::{Backend, Precision, Variant};
    let flash = CpuBackend
        .kernels()
        .into_iter()
        .find(|k| k.op == Op::Attention && k.name == "flash")
        .unwrap();
    let contract = flash.variants[0].contract;
    let case = |problem: &str, distribution| Case {
        kernel: "flash".into(),
        backend: "cpu".into(),
        variant: Variant::portable(Precision::F32),
        problem: problem_from_id(problem),
        distribution,
        seed: 5,
    };
    let rounding_only = |c: &Case| {
        let e = expectation(c, &inputs(c), &contract);
        let u = (2.0f64).powi(-24);
        e.values
            .iter()
            .zip(&e.allowed_error)
            .all(|(v, a)| *a <= 130.0 * u * v.abs() + 1e-30)
    };
    assert!(rounding_only(&case(
        "b1h1g1q8k40d16v8",
        Distribution::ConstV
    )));
    assert!(rounding_only(&case(
        "b1h1g1q8k8d16v8.causal.w1",
        Distribution::Normal
    )));
    assert!(!rounding_only(&case(
        "b1h1g1q8k40d16v8",
        Distribution::Normal
    )));
}

/// A long decode, one query over 32,768 keys at d 128 (a 32k-token KV cache): on llvmpipe the
/// one-pass flash kernel's loops would pass the 65,535 iterations after which llvmpipe ends an
/// invocation, so it answers Unsupported; the split-KV kernel cuts the keys into 128 splits of
/// 256 and must run and pass.
fn long_decode(backend: Arc<dyn Backend>) {
    let problem = problem_from_id("b1h2g1q1k32768d128v128");
    let variant = Variant::portable(Precision::F32);
    if backend.device().device.contains("llvmpipe") {
        match backend.check("flash", variant, &problem) {
            Err(KernelError::Unsupported(why)) => assert!(why.contains("65535"), "{why}"),
            other => panic!("flash on a 32k decode: expected Unsupported, got {other:?}"),
        }
    }
    let case = Case {
        kernel: "splitkv".into(),
        backend: backend.name().into(),
        variant,
        problem,
        distribution: Distribution::Normal,
        seed: 7,
    };
    if let Err(e) = check_case(&backend, &case) {
        panic!("{e}");
    }
}

/// The backends every semantic and property runs on (a missing one is ignored with the reason).
const APIS: [&str; 3] = ["cpu", "vulkan", "gl"];

fn main() {
    let mut suite = Suite::new();
    for api in APIS {
        suite.on_backend(format!("semantics_{api}"), api, semantics);
    }
    for api in APIS {
        suite.on_backend(format!("properties_{api}"), api, property);
    }
    for api in APIS {
        suite.on_backend(format!("long_decode_{api}"), api, long_decode);
    }
    suite.test(
        "constant_v_and_single_key_rows_leave_only_rounding_room",
        constant_v_and_single_key_rows_leave_only_rounding_room,
    );
    suite.run_and_exit()
}
