//! Determinism, batch invariance and chunked prefill: a backend whose second run differs, and one
//! whose rows change with the size of the launch (or the keys in the cache), fail where their
//! kernels promise otherwise and are reported (but pass) where they do not; the CPU split-K
//! kernel shows the honest report.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crosscheck::case::{Case, Distribution};
use crosscheck::judge::{Failure, Verdict};
use crosscheck::run::{CaseResult, run_case};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{
    AttentionProblem, Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, Layout,
    MatmulProblem, OutputBuffer, Precision, Problem, QuantFormat, QuantMatmulProblem, Variant,
};

/// How [`Unsteady`] misbehaves: always in the last bit of the first output element.
#[derive(Clone, Copy, PartialEq)]
enum Wobble {
    /// The second call differs from the first.
    SecondRun,
    /// Every problem other than the first one it sees (a smaller launch) differs.
    OtherLaunches,
}

/// The CPU kernels, with one deliberate wobble and a chosen declaration.
struct Unsteady {
    wobble: Wobble,
    /// What the kernels declare: deterministic, batch- and chunk-invariant, or none of them.
    promises: bool,
    calls: AtomicUsize,
    first_problem: Mutex<Option<Problem>>,
}

impl Unsteady {
    fn backend(wobble: Wobble, promises: bool) -> Arc<dyn Backend> {
        Arc::new(Unsteady {
            wobble,
            promises,
            calls: AtomicUsize::new(0),
            first_problem: Mutex::new(None),
        })
    }
}

impl Backend for Unsteady {
    fn name(&self) -> &str {
        "unsteady-cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        let mut kernels = CpuBackend.kernels();
        for v in kernels.iter_mut().flat_map(|k| k.variants.iter_mut()) {
            v.contract.deterministic = self.promises;
            v.contract.batch_invariant = self.promises;
            v.contract.chunk_invariant = self.promises;
            v.contract.matches_unfused = self.promises;
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
        CpuBackend.run(kernel, variant, problem, inputs, output)?;
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let first = self
            .first_problem
            .lock()
            .unwrap()
            .get_or_insert(problem.clone())
            .clone();
        let wobbles = match self.wobble {
            Wobble::SecondRun => call == 1,
            Wobble::OtherLaunches => *problem != first,
        };
        if wobbles {
            output.payload_mut()[0] ^= 1;
        }
        Ok(())
    }
}

fn case(problem: Problem, precision: Precision) -> Case {
    Case {
        kernel: match problem {
            Problem::QuantMatmul(q) => q.weights.family().name().into(),
            _ => "naive".into(),
        },
        backend: "unsteady-cpu".into(),
        variant: Variant::portable(precision),
        problem,
        distribution: Distribution::Uniform,
        seed: 7,
    }
}

fn matmul() -> Problem {
    Problem::Matmul(MatmulProblem {
        batch: 2,
        m: 5,
        n: 3,
        k: 8,
        a_layout: Layout::ColMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    })
}

fn attention() -> Problem {
    Problem::Attention(AttentionProblem {
        batch: 2,
        heads_q: 4,
        heads_kv: 2,
        len_q: 3,
        len_kv: 7,
        d_qk: 8,
        d_v: 4,
        causal: true,
        window: None,
        scale_bits: None,
    })
}

/// A K-quant matmul: its CPU kernel declares (and gives) its unfused pipeline's bits.
fn qmatmul() -> Problem {
    Problem::QuantMatmul(QuantMatmulProblem::new(QuantFormat::Q4K, 3, 2, 256))
}

/// A Q8_0 matmul: its CPU kernel scales per block, so dequantize-then-matmul differs.
fn q8_matmul() -> Problem {
    Problem::QuantMatmul(QuantMatmulProblem::new(QuantFormat::Q8_0, 3, 2, 64))
}

fn verdict(backend: &Arc<dyn Backend>, case: &Case) -> Verdict {
    match run_case(backend, case) {
        Ok(CaseResult::Judged { verdict, .. }) => verdict,
        other => panic!("{case} was not judged: {other:?}"),
    }
}

/// The properties named by `Differs` failures.
fn broken_promises(v: &Verdict) -> Vec<String> {
    v.failures
        .iter()
        .map(|f| match f {
            Failure::Differs { property, .. } => property.clone(),
            other => panic!("unexpected failure {other}"),
        })
        .collect()
}

#[test]
fn a_second_run_that_differs_fails_a_deterministic_kernel_and_is_noted_otherwise() {
    for (problem, precision) in [
        (matmul(), Precision::F32),
        (attention(), Precision::F16),
        (qmatmul(), Precision::F32),
    ] {
        let c = case(problem, precision);
        let promised = verdict(&Unsteady::backend(Wobble::SecondRun, true), &c);
        assert_eq!(broken_promises(&promised), ["deterministic"], "{c}");
        let honest = verdict(&Unsteady::backend(Wobble::SecondRun, false), &c);
        assert!(honest.passed(), "{c}: {honest:?}");
        assert_eq!(honest.notes.len(), 1, "{c}: {:?}", honest.notes);
        assert!(
            honest.notes[0].contains("second run"),
            "{}",
            honest.notes[0]
        );
    }
}

#[test]
fn rows_that_change_with_the_launch_fail_a_batch_invariant_kernel_and_are_noted_otherwise() {
    // Matmul: the last row, the second half and the last batch entry alone; attention: the last
    // batch entry, the last query and the second half of the queries alone, and (causal) the
    // first chunk of a chunked prefill; quantized matmul: the last row and the second half, and
    // its unfused pipeline (whose launches wobble too).
    let batch = "batch-invariant";
    for (problem, promises) in [
        (matmul(), vec![batch; 3]),
        (attention(), vec![batch, batch, batch, "chunk-invariant"]),
        (qmatmul(), vec![batch, batch, "unfused-equivalent"]),
    ] {
        let c = case(problem, Precision::F32);
        let promised = verdict(&Unsteady::backend(Wobble::OtherLaunches, true), &c);
        assert_eq!(broken_promises(&promised), promises, "{c}");
        let honest = verdict(&Unsteady::backend(Wobble::OtherLaunches, false), &c);
        assert!(honest.passed(), "{c}: {honest:?}");
        assert_eq!(
            honest.notes.len(),
            promises.len(),
            "{c}: {:?}",
            honest.notes
        );
        for (note, property) in honest.notes.iter().zip(&promises) {
            assert!(note.contains(&format!("not declared {property}")), "{note}");
        }
    }
    let chunk_note = verdict(
        &Unsteady::backend(Wobble::OtherLaunches, false),
        &case(attention(), Precision::F32),
    )
    .notes
    .pop()
    .unwrap();
    assert!(
        chunk_note.starts_with(
            "a prefill chunk of query 0 with the first 5 keys (len_q = 1, len_kv = 5)"
        ),
        "{chunk_note}"
    );
}

#[test]
fn steady_kernels_pass_without_notes() {
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    for (problem, precision) in [
        (matmul(), Precision::BF16),
        (attention(), Precision::F32),
        (qmatmul(), Precision::F32),
    ] {
        let mut c = case(problem, precision);
        c.backend = "cpu".into();
        let v = verdict(&cpu, &c);
        assert!(v.passed() && v.notes.is_empty(), "{c}: {v:?}");
    }
}

#[test]
fn split_k_is_reported_as_not_batch_invariant() {
    // 4·80 outputs are not split; one row of 80 is, so its bits change.
    let problem = Problem::Matmul(MatmulProblem {
        batch: 1,
        m: 4,
        n: 80,
        k: 64,
        a_layout: Layout::RowMajor,
        b_layout: Layout::RowMajor,
        b_broadcast: false,
    });
    let mut c = case(problem, Precision::F32);
    c.kernel = "splitk".into();
    c.backend = "cpu".into();
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let v = verdict(&cpu, &c);
    assert!(v.passed(), "{v:?}");
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("m = 1") && n.contains("not declared batch-invariant")),
        "{:?}",
        v.notes
    );
}

#[test]
fn a_fused_kernel_is_compared_with_its_unfused_pipeline() {
    // The CPU Q8_0 matmul sums each block's integer products and scales once per block;
    // dequantizing first and summing in f32 rounds differently. Undeclared: a note.
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let mut c = case(q8_matmul(), Precision::F32);
    c.backend = "cpu".into();
    let v = verdict(&cpu, &c);
    assert!(v.passed(), "{v:?}");
    assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
    assert!(
        v.notes[0].starts_with("dequantize/q8_0 then matmul/naive differs")
            && v.notes[0].ends_with("not declared unfused-equivalent"),
        "{}",
        v.notes[0]
    );
    // Declared (as the unsteady backend's promises do): the same difference fails the case.
    let promised = Unsteady::backend(Wobble::SecondRun, true);
    c.backend = "unsteady-cpu".into();
    let v = verdict(&promised, &c);
    assert!(
        broken_promises(&v).contains(&"unfused-equivalent".to_string()),
        "{:?}",
        v.failures
    );
}

/// The CPU kernels, declaring split invariance (which the CPU split-KV kernel does not have).
struct DeclaresSplitInvariance;

impl Backend for DeclaresSplitInvariance {
    fn name(&self) -> &str {
        "cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        let mut kernels = CpuBackend.kernels();
        for v in kernels.iter_mut().flat_map(|k| k.variants.iter_mut()) {
            v.contract.split_invariant = true;
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
        CpuBackend.run(kernel, variant, problem, inputs, output)
    }
}

#[test]
fn split_kv_decode_whose_splits_follow_the_key_count_is_not_split_invariant() {
    // FlashDecoding's 4 splits of 300 keys (96 each) become 4 of 160 behind 256 more keys.
    let problem = Problem::Attention(AttentionProblem {
        batch: 1,
        heads_q: 2,
        heads_kv: 1,
        len_q: 1,
        len_kv: 300,
        d_qk: 16,
        d_v: 16,
        causal: false,
        window: None,
        scale_bits: None,
    });
    let mut c = case(problem, Precision::F32);
    c.kernel = "splitkv".into();
    c.backend = "cpu".into();
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let v = verdict(&cpu, &c);
    assert!(v.passed(), "{v:?}");
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("more keys it cannot see")
                && n.contains("not declared split-invariant")),
        "{:?}",
        v.notes
    );
    // Declared, the same difference fails the case; the one-pass flash kernel keeps it.
    let declaring: Arc<dyn Backend> = Arc::new(DeclaresSplitInvariance);
    let v = verdict(&declaring, &c);
    assert_eq!(broken_promises(&v), ["split-invariant"], "{v:?}");
    c.kernel = "flash".into();
    let v = verdict(&declaring, &c);
    assert!(v.passed() && v.notes.is_empty(), "{v:?}");
}

/// The CPU MLA kernels, with a FlashDecoding-style heuristic in front of `mla/splitkv`: a launch
/// whose block table has room for at most [`ONE_PASS_ROOM`] tokens runs in one pass (the flash
/// kernel's schedule), a roomier one in splits. It declares what the CPU split-KV kernel
/// declares, split invariance included, which the heuristic breaks.
struct OnePassWhenShort;

/// The most tokens a block table may have room for and still be decoded in one pass.
const ONE_PASS_ROOM: usize = 256;

impl Backend for OnePassWhenShort {
    fn name(&self) -> &str {
        "cpu"
    }
    fn device(&self) -> DeviceInfo {
        CpuBackend.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        CpuBackend.kernels()
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
        let kernel = match problem {
            Problem::Mla(p) if kernel == "splitkv" && p.blocks * p.page <= ONE_PASS_ROOM => "flash",
            _ => kernel,
        };
        CpuBackend.run(kernel, variant, problem, inputs, output)
    }
}

#[test]
fn mla_split_kv_decode_is_held_to_its_split_invariance() {
    // Up to 128 tokens a sequence: two splits of 64, or one pass of four tiles of 32.
    let c: Case = "mla.splitkv:cpu:f32:b2h3q1l64r8p16m8:normal:0x7"
        .parse()
        .expect("valid case id");
    // The CPU kernel counts its splits from each row's first token: the larger block table
    // (room for 256 more tokens) leaves its bits alone, as declared.
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let v = verdict(&cpu, &c);
    assert!(v.passed() && v.notes.is_empty(), "{v:?}");
    // Splits that follow the table's room change the bits there, and the declaration fails it.
    let heuristic: Arc<dyn Backend> = Arc::new(OnePassWhenShort);
    let v = verdict(&heuristic, &c);
    assert_eq!(broken_promises(&v), ["split-invariant"], "{v:?}");
    assert!(
        v.failures[0]
            .to_string()
            .contains("more tokens of unused room"),
        "{}",
        v.failures[0]
    );
}

#[test]
fn a_masked_grouped_gemm_is_compared_with_one_matmul_per_expert() {
    let problem = Problem::MoeMasked(crosscheck_spec::MoeMaskedProblem {
        experts: 3,
        max_m: 5,
        n: 4,
        k: 8,
        padding: crosscheck_spec::Padding::Zero,
        b_layout: Layout::RowMajor,
        fp8: false,
    });
    let per_expert = |notes_or_failures: &[String]| {
        notes_or_failures
            .iter()
            .any(|n| n.contains("one matmul/naive per expert"))
    };
    // The CPU kernel gives the per-expert matmuls' bits: nothing to say.
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let mut c = case(problem.clone(), Precision::F32);
    c.backend = "cpu".into();
    let v = verdict(&cpu, &c);
    assert!(v.passed() && !per_expert(&v.notes), "{v:?}");
    // Launches that wobble (the per-expert matmuls among them) are a note when undeclared, and
    // fail the case when declared.
    c.backend = "unsteady-cpu".into();
    let honest = verdict(&Unsteady::backend(Wobble::OtherLaunches, false), &c);
    assert!(honest.passed() && per_expert(&honest.notes), "{honest:?}");
    let promised = verdict(&Unsteady::backend(Wobble::OtherLaunches, true), &c);
    assert!(
        broken_promises(&promised).contains(&"unfused-equivalent".to_string()),
        "{:?}",
        promised.failures
    );
}

/// A contiguous grouped GEMM with padding rows (alignment 4, experts of 1..=4 rows).
fn moe_contiguous() -> Problem {
    Problem::MoeContiguous(crosscheck_spec::MoeContiguousProblem {
        experts: 3,
        m: 16,
        n: 5,
        k: 9,
        alignment: 4,
        grouping: crosscheck_spec::Grouping::Indices,
        padding: crosscheck_spec::Padding::Zero,
        b_layout: Layout::ColMajor,
        fp8: false,
    })
}

/// A routed combination with several tokens per expert.
fn moe_routed() -> Problem {
    Problem::MoeRouted(crosscheck_spec::MoeRoutedProblem {
        tokens: 6,
        experts: 4,
        top_k: 3,
        n: 5,
        k: 9,
        b_layout: Layout::RowMajor,
        fp8: false,
    })
}

/// Whether a note or failure speaks of the per-expert pipeline.
fn names_per_expert(lines: &[String]) -> bool {
    lines
        .iter()
        .any(|n| n.contains("one matmul/naive per expert"))
}

#[test]
fn contiguous_and_routed_grouped_gemms_are_compared_with_per_expert_matmuls() {
    for problem in [moe_contiguous(), moe_routed()] {
        // The CPU kernels declare the per-expert bits and give them: nothing to say.
        let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
        for kernel in ["naive", "tiled"] {
            let mut c = case(problem.clone(), Precision::F32);
            c.backend = "cpu".into();
            c.kernel = kernel.into();
            for seed in 0..8 {
                c.seed = seed;
                let v = verdict(&cpu, &c);
                assert!(v.passed() && !names_per_expert(&v.notes), "{c}: {v:?}");
            }
        }
        // Launches that wobble (the per-expert matmuls among them) are a note when undeclared,
        // and fail the case when declared.
        let c = case(problem.clone(), Precision::F32);
        let honest = verdict(&Unsteady::backend(Wobble::OtherLaunches, false), &c);
        assert!(
            honest.passed() && names_per_expert(&honest.notes),
            "{honest:?}"
        );
        let promised = verdict(&Unsteady::backend(Wobble::OtherLaunches, true), &c);
        assert!(
            broken_promises(&promised).contains(&"unfused-equivalent".to_string()),
            "{:?}",
            promised.failures
        );
    }
}

/// The CPU kernel's output of `c` and the case's inputs.
fn first_run(c: &Case) -> (Vec<HostTensor>, OutputBuffer) {
    let inputs = crosscheck::ops::of(&c.problem).inputs(c);
    let precision = c.problem.output_precision(c.variant);
    let mut output = OutputBuffer::new(precision, c.problem.output_len(), 0);
    let refs: Vec<&HostTensor> = inputs.iter().collect();
    CpuBackend
        .run(&c.kernel, c.variant, &c.problem, &refs, &mut output)
        .unwrap();
    (inputs, output)
}

#[test]
fn a_misplaced_per_expert_pipeline_shows_as_a_difference() {
    use crosscheck::run::invariance::{Piece, StepInput, compare_unfused};
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let timeout = std::time::Duration::from_secs(60);
    let mut c = case(moe_contiguous(), Precision::F32);
    c.backend = "cpu".into();
    let (inputs, output) = first_run(&c);
    let family = crosscheck::ops::of(&c.problem);
    let pipeline = family.unfused(&c.problem, &inputs).unwrap();
    let right = compare_unfused(&cpu, &c, &pipeline, true, &output, timeout);
    assert!(
        right.failures.is_empty() && right.notes.is_empty(),
        "{right:?}"
    );
    // Every expert's rows placed one row further down (onto padding or the next expert).
    let mut shifted = pipeline.clone();
    for (_, spans) in &mut shifted.placed {
        for span in spans.iter_mut() {
            span.1 = if span.1 + span.2 + 5 <= 16 * 5 {
                span.1 + 5
            } else {
                span.1 - 5
            };
        }
    }
    let noted = compare_unfused(&cpu, &c, &shifted, false, &output, timeout);
    assert!(names_per_expert(&noted.notes), "{noted:?}");
    let failed = compare_unfused(&cpu, &c, &shifted, true, &output, timeout);
    assert_eq!(failed.failures.len(), 1, "{failed:?}");

    // The routed combination with two slots' rows swapped in the combining matmul.
    let mut c = case(moe_routed(), Precision::F32);
    c.backend = "cpu".into();
    let (inputs, output) = first_run(&c);
    let pipeline = family_unfused(&c, &inputs);
    let right = compare_unfused(&cpu, &c, &pipeline, true, &output, timeout);
    assert!(
        right.failures.is_empty() && right.notes.is_empty(),
        "{right:?}"
    );
    let mut swapped = pipeline.clone();
    let last = swapped.steps.len() - 1;
    let StepInput::Assembled { pieces, .. } = &mut swapped.steps[last].inputs[1] else {
        panic!("the combining step reads the slots' rows")
    };
    let filled: Vec<usize> = (0..pieces.len())
        .filter(|&i| matches!(pieces[i], Piece::Output { .. }))
        .collect();
    pieces.swap(filled[0], filled[1]);
    let noted = compare_unfused(&cpu, &c, &swapped, false, &output, timeout);
    assert!(names_per_expert(&noted.notes), "{noted:?}");
}

fn family_unfused(c: &Case, inputs: &[HostTensor]) -> crosscheck::run::invariance::Unfused {
    crosscheck::ops::of(&c.problem)
        .unfused(&c.problem, inputs)
        .unwrap()
}
