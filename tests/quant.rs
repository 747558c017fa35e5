//! Quantized formats on every backend: quantize and dequantize bit-exact against the reference
//! codecs (GGML Q8_0/Q4_0, int8, OCP E4M3 with DeepSeek scaling, the OCP MX formats and FP8 E5M2,
//! NVFP4, GGML's K-quants), quantized matmuls within their
//! derived bound. Fixed cases put values on rounding ties, in all-zero blocks, next to outliers,
//! past E4M3's range and in short last FP8 blocks; properties shrink failures to small cases.
//! A test of a missing backend is listed as ignored with the reason, or fails when
//! CROSSCHECK_REQUIRE lists the backend (`harness = false`, see `crosscheck::testing::Suite`).

use std::sync::Arc;

use crosscheck::generate::shapes;
use crosscheck::run::Plan;
use crosscheck::testing::{Suite, check_case, check_property, contract_of, runnable_variants};
use crosscheck_spec::{Accumulator, Backend, Op, Precision};

const OPS: [Op; 3] = [Op::Quantize, Op::Dequantize, Op::QuantMatmul];
const FAMILIES: [&str; 7] = ["q8_0", "q4_0", "int8", "fp8", "mx", "nvfp4", "kquant"];

fn fixed(backend: Arc<dyn Backend>) {
    let plan = Plan {
        random_cases: 0,
        ..Plan::default()
    };
    let mut failures = Vec::new();
    for op in OPS {
        for family in FAMILIES {
            for variant in runnable_variants(backend.as_ref(), (op, family)) {
                for case in plan.cases(op, backend.name(), family, variant) {
                    if let Err(e) = check_case(&backend, &case) {
                        failures.push(e);
                    }
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

fn properties(backend: Arc<dyn Backend>) {
    let mut failures = Vec::new();
    for op in OPS {
        for family in FAMILIES {
            for variant in runnable_variants(backend.as_ref(), (op, family)) {
                let strategy = shapes::case(op, backend.name(), family, variant);
                if let Err(e) = check_property(&backend, strategy) {
                    failures.push(format!("{op}/{family} on {}: {e}", backend.name()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every backend offers every quantized kernel (a missing one would silently shrink the suite),
/// in f32, and in bf16 exactly the quantized matmuls whose unquantized activations real W4A16
/// GEMMs take in bf16 — `qmatmul/mx` and `qmatmul/nvfp4` (A and C stored in bf16) — and no
/// other: every other quantized op's tensors have fixed precisions, so an f16 or bf16 variant
/// would only repeat the f32 cell under another name in the matrix.
fn every_backend_offers_quantized_kernels_in_f32_and_w4a16_matmuls_in_bf16() {
    for backend in &crosscheck::registry().all {
        let kernels = backend.kernels();
        for op in OPS {
            for family in FAMILIES {
                let kernel = kernels.iter().find(|k| k.op == op && k.name == family);
                let Some(kernel) = kernel else {
                    panic!("{} lacks {op}/{family}", backend.name());
                };
                let mut offered: Vec<Precision> = kernel
                    .variants
                    .iter()
                    .map(|v| v.variant.precision)
                    .collect();
                offered.sort_by_key(|p| p.name());
                let expected = if op == Op::QuantMatmul && matches!(family, "mx" | "nvfp4") {
                    vec![Precision::BF16, Precision::F32]
                } else {
                    vec![Precision::F32]
                };
                assert_eq!(
                    offered,
                    expected,
                    "{} offers {op}/{family} in {offered:?}",
                    backend.name()
                );
            }
        }
    }
}

/// int8 × int8 products are summed in i32, which is exact, and every backend's int8 kernel says
/// so: the judge then holds it bit-exact (a contract declaring an f32 sum would let a kernel that
/// rounds its sums pass).
fn every_backend_holds_int8_products_to_an_exact_i32_sum() {
    for backend in &crosscheck::registry().all {
        for variant in runnable_variants(backend.as_ref(), (Op::QuantMatmul, "int8")) {
            let contract = contract_of(backend.as_ref(), Op::QuantMatmul, "int8", variant)
                .expect("offered variant has a contract");
            assert_eq!(
                contract.accumulator,
                Accumulator::I32,
                "{} qmatmul/int8 {variant}",
                backend.name()
            );
        }
    }
}

/// The CPU's quantize kernels behind a wrapper that leaves every output byte unwritten whose
/// correct value is the poison byte 0xa5: the output looks right after one run, so only a
/// second run with another poison shows that those bytes were never written.
struct SkipsPoisonBytes;

impl crosscheck_spec::Backend for SkipsPoisonBytes {
    fn name(&self) -> &str {
        "cpu-skips-a5"
    }
    fn device(&self) -> crosscheck_spec::DeviceInfo {
        crosscheck_kernels::CpuBackend.device()
    }
    fn kernels(&self) -> Vec<crosscheck_spec::KernelInfo> {
        crosscheck_kernels::CpuBackend.kernels()
    }
    fn run(
        &self,
        kernel: &str,
        variant: crosscheck_spec::Variant,
        problem: &crosscheck_spec::Problem,
        inputs: &[&crosscheck_spec::HostTensor],
        output: &mut crosscheck_spec::OutputBuffer,
    ) -> Result<(), crosscheck_spec::KernelError> {
        let mut scratch = output.clone();
        crosscheck_kernels::CpuBackend.run(kernel, variant, problem, inputs, &mut scratch)?;
        for (out, &byte) in output.payload_mut().iter_mut().zip(scratch.payload()) {
            if byte != 0xa5 {
                *out = byte;
            }
        }
        Ok(())
    }
}

fn an_unwritten_byte_is_named_even_where_the_right_byte_is_the_poison() {
    let backend: std::sync::Arc<dyn crosscheck_spec::Backend> =
        std::sync::Arc::new(SkipsPoisonBytes);
    let case: crosscheck::Case = "quantize.fp8:cpu-skips-a5:f32:fp8-e4m3.r64c64:normal:0x1"
        .parse()
        .unwrap();
    let verdict = match crosscheck::run_case(&backend, &case).unwrap() {
        crosscheck::CaseResult::Judged { verdict, .. } => verdict,
        other => panic!("{other:?}"),
    };
    assert!(!verdict.passed(), "the skipped 0xa5 bytes went unseen");
    let text = verdict
        .failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        text.contains("never written") || text.contains("unwritten"),
        "{text}"
    );
    // The unwrapped kernel writes the same bytes and passes.
    let cpu: std::sync::Arc<dyn crosscheck_spec::Backend> =
        std::sync::Arc::new(crosscheck_kernels::CpuBackend);
    let control: crosscheck::Case = "quantize.fp8:cpu:f32:fp8-e4m3.r64c64:normal:0x1"
        .parse()
        .unwrap();
    let passed = matches!(
        crosscheck::run_case(&cpu, &control).unwrap(),
        crosscheck::CaseResult::Judged { verdict, .. } if verdict.passed()
    );
    assert!(passed, "the control must pass");
}

/// The backends the fixed cases and properties run on (a missing one is ignored with the reason).
const APIS: [&str; 3] = ["cpu", "vulkan", "gl"];

fn main() {
    let mut suite = Suite::new();
    for api in APIS {
        suite.on_backend(format!("fixed_{api}"), api, fixed);
    }
    for api in APIS {
        suite.on_backend(format!("properties_{api}"), api, properties);
    }
    suite
        .test(
            "every_backend_offers_quantized_kernels_in_f32_and_w4a16_matmuls_in_bf16",
            every_backend_offers_quantized_kernels_in_f32_and_w4a16_matmuls_in_bf16,
        )
        .test(
            "every_backend_holds_int8_products_to_an_exact_i32_sum",
            every_backend_holds_int8_products_to_an_exact_i32_sum,
        )
        .test(
            "an_unwritten_byte_is_named_even_where_the_right_byte_is_the_poison",
            an_unwritten_byte_is_named_even_where_the_right_byte_is_the_poison,
        );
    suite.run_and_exit()
}
