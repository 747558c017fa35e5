//! Determinism and batch invariance. A case whose verdict passed is run a second time (the bits
//! must match when the kernel declares itself deterministic), and parts of its output are
//! computed again in smaller launches (see [`launches`]), whose bits must match when the kernel
//! declares itself batch-invariant. Differences a kernel does not promise away are reported as
//! notes, not failures. Two NaNs count as equal (WGSL leaves NaN payloads unspecified), unless
//! one of them is the poison an unwritten element keeps.

pub mod launches;
pub mod unfused;

use std::sync::Arc;
use std::time::Duration;

use crosscheck_reference::codec;
use crosscheck_spec::{Backend, HostTensor, NumericContract, OutputBuffer, Precision, Problem};

use crate::case::Case;
use crate::guards::{self, GUARD_BYTES};
use crate::judge::Failure;
use crate::report::case::{element_label, num};
use crate::run::deadline::{Launch, Ran, run_with_deadline};
use crate::run::launch_context::LaunchContext;
use launches::sub_launches;
pub use launches::{Invariance, SubLaunch};
pub(crate) use launches::{gather, row_ranges, span_name};
pub use unfused::{Piece, Span, Step, StepInput, Unfused};

/// What the reruns of one case found.
#[derive(Debug, Default)]
pub struct Reruns {
    /// Broken promises: differences the contract rules out, or reruns that failed.
    pub failures: Vec<Failure>,
    /// Differences the kernel does not promise away, for the report.
    pub notes: Vec<String>,
}

/// Runs `case` again on `inputs` and in smaller launches, and compares each with `output`,
/// the first run's (already judged) output.
pub fn rerun(
    backend: &Arc<dyn Backend>,
    case: &Case,
    contract: &NumericContract,
    inputs: &[HostTensor],
    output: &OutputBuffer,
    timeout: Duration,
) -> Reruns {
    let mut checker = Checker {
        backend,
        case,
        full: output,
        timeout,
        found: Reruns::default(),
    };
    let again = Part {
        larger: false,
        what: "a second run of the same case".into(),
        problem: case.problem.clone(),
        inputs: inputs.to_vec(),
        spans: vec![(0, 0, case.problem.output_len())],
    };
    checker.compare(&again, contract.deterministic, "deterministic");
    for sub in sub_launches(&case.problem, inputs) {
        let part = Part {
            larger: sub.checks == Invariance::SplitCount,
            what: sub.what,
            problem: sub.problem,
            inputs: sub.inputs,
            spans: sub.spans,
        };
        checker.compare(&part, sub.checks.promised(contract), sub.checks.name());
    }
    if let Some(pipeline) = crate::ops::of(&case.problem).unfused(&case.problem, inputs) {
        checker.compare_unfused(&pipeline, contract.matches_unfused);
    }
    checker.found
}

/// Runs `pipeline` alone and compares its placed outputs with `output`, the first run's: a
/// difference fails when `promised`, and is a note otherwise. [`rerun`] does this with the
/// pipeline the case's family gives; this entry lets tests hand it a deliberately wrong one.
pub fn compare_unfused(
    backend: &Arc<dyn Backend>,
    case: &Case,
    pipeline: &Unfused,
    promised: bool,
    output: &OutputBuffer,
    timeout: Duration,
) -> Reruns {
    let mut checker = Checker {
        backend,
        case,
        full: output,
        timeout,
        found: Reruns::default(),
    };
    checker.compare_unfused(pipeline, promised);
    checker.found
}

/// A launch and where its output sits in the first run's.
struct Part {
    /// Whether it is larger than the case's launch (and may not fit where the case did).
    larger: bool,
    what: String,
    problem: Problem,
    inputs: Vec<HostTensor>,
    spans: Vec<(usize, usize, usize)>,
}

/// Runs the steps of `pipeline` on `backend` in the case's variant and places the outputs it
/// names into one buffer shaped like the case's output: that buffer and the spans it holds,
/// `None` when the backend lacks one of the pipeline's kernels (there is nothing to compare),
/// or the failure of a step.
fn run_unfused(
    backend: &Arc<dyn Backend>,
    case: &Case,
    pipeline: &Unfused,
    full: &OutputBuffer,
    timeout: Duration,
) -> Option<Result<(OutputBuffer, Vec<Span>), Failure>> {
    let variant = case.variant;
    if pipeline.steps.iter().any(|step| {
        let kernels = backend.kernels();
        let available = step
            .kernel
            .find(&kernels)
            .and_then(|k| k.variant(variant))
            .is_some_and(|v| v.unavailable.is_none());
        !available
            || backend
                .check(&step.kernel.name, variant, &step.problem)
                .is_err()
    }) {
        return None;
    }
    let mut outputs: Vec<(Precision, Vec<u8>)> = Vec::new();
    for step in &pipeline.steps {
        let inputs: Vec<HostTensor> = step.inputs.iter().map(|i| i.resolve(&outputs)).collect();
        let launch = Launch {
            kernel: &step.kernel.name,
            variant,
            problem: &step.problem,
            context: LaunchContext::part(case, &pipeline.what),
        };
        let precision = step.problem.output_precision(variant);
        let output = match launch_into(backend, &launch, &inputs, precision, timeout) {
            Ok(output) => output,
            Err(failure) => return Some(Err(failure)),
        };
        outputs.push((precision, output.payload().to_vec()));
    }
    let precision = full.precision();
    let size = precision.bytes();
    let mut assembled = OutputBuffer::new(precision, full.len(), 0);
    let mut spans = Vec::new();
    for (step, placed) in &pipeline.placed {
        let (step_precision, bytes) = &outputs[*step];
        if *step_precision != precision {
            return Some(Err(Failure::Error(crosscheck_spec::KernelError::Device(
                format!(
                    "harness bug: step {step} of {} writes {step_precision}, the case {precision}",
                    pipeline.what
                ),
            ))));
        }
        for &(from, to, len) in placed {
            assembled.payload_mut()[to * size..(to + len) * size]
                .copy_from_slice(&bytes[from * size..(from + len) * size]);
            spans.push((to, to, len));
        }
    }
    Some(Ok((assembled, spans)))
}

/// Runs launches of one case and collects what they show against the first run's output.
struct Checker<'a> {
    backend: &'a Arc<dyn Backend>,
    case: &'a Case,
    full: &'a OutputBuffer,
    timeout: Duration,
    found: Reruns,
}

impl Checker<'_> {
    /// Runs the unfused `pipeline` and compares its output with the first run's: a difference
    /// fails the case when the kernel `promised` to match it, and is a note otherwise.
    fn compare_unfused(&mut self, pipeline: &Unfused, promised: bool) {
        let (output, spans) =
            match run_unfused(self.backend, self.case, pipeline, self.full, self.timeout) {
                None => return,
                Some(Ok(placed)) => placed,
                Some(Err(failure)) => {
                    self.found.failures.push(Failure::Rerun {
                        launch: pipeline.what.clone(),
                        failure: Box::new(failure),
                    });
                    return;
                }
            };
        self.report(
            &pipeline.what,
            &output,
            &spans,
            promised,
            "unfused-equivalent",
        );
    }

    /// Runs `part` and compares its output with the first run's on its spans: a difference
    /// fails the case when the kernel `promised` the `property`, and is a note otherwise.
    fn compare(&mut self, part: &Part, promised: bool, property: &str) {
        let precision = self.full.precision();
        let output = match launch(self.backend, self.case, part, precision, self.timeout) {
            Ok(output) => output,
            // A launch larger than the case's (split invariance adds keys) may pass a limit the
            // case did not, e.g. llvmpipe's loop limit: then there is nothing to compare.
            Err(Failure::Error(crosscheck_spec::KernelError::Unsupported(_))) if part.larger => {
                return;
            }
            Err(failure) => {
                self.found.failures.push(Failure::Rerun {
                    launch: part.what.clone(),
                    failure: Box::new(failure),
                });
                return;
            }
        };
        self.report(&part.what, &output, &part.spans, promised, property);
    }

    /// Compares `output` with the first run's on `spans`: a difference fails the case when the
    /// kernel `promised` the `property`, and is a note otherwise.
    fn report(
        &mut self,
        what: &str,
        output: &OutputBuffer,
        spans: &[(usize, usize, usize)],
        promised: bool,
        property: &str,
    ) {
        let Some(diff) = Difference::between(self.full, output, spans) else {
            return;
        };
        let detail = diff.describe(&self.case.problem, self.full.precision());
        if promised {
            self.found.failures.push(Failure::Differs {
                property: property.to_string(),
                launch: what.to_string(),
                detail,
            });
        } else {
            self.found.notes.push(format!(
                "{what} differs ({detail}); not declared {property}"
            ));
        }
    }
}

/// Runs one extra launch of the case's kernel into a fresh guarded output: the output, or why
/// there is none.
fn launch(
    backend: &Arc<dyn Backend>,
    case: &Case,
    part: &Part,
    precision: Precision,
    timeout: Duration,
) -> Result<OutputBuffer, Failure> {
    let launch = Launch {
        kernel: &case.kernel,
        variant: case.variant,
        problem: &part.problem,
        context: LaunchContext::part(case, &part.what),
    };
    launch_into(backend, &launch, &part.inputs, precision, timeout)
}

/// Runs `launch` on `inputs` into a fresh guarded output of `precision`.
fn launch_into(
    backend: &Arc<dyn Backend>,
    launch: &Launch,
    inputs: &[HostTensor],
    precision: Precision,
    timeout: Duration,
) -> Result<OutputBuffer, Failure> {
    let mut output = OutputBuffer::new(precision, launch.problem.output_len(), GUARD_BYTES);
    guards::arm(&mut output);
    let output = match run_with_deadline(backend, launch, inputs.to_vec(), output, timeout) {
        Ran::Done(Ok(()), _, output) => output,
        Ran::Done(Err(e), ..) => return Err(Failure::Error(e)),
        Ran::Panicked(panic) => return Err(Failure::Panicked(panic)),
        Ran::TimedOut => {
            return Err(Failure::Error(crosscheck_spec::KernelError::Timeout(
                timeout,
            )));
        }
        Ran::NotStarted(why) => {
            return Err(Failure::Error(crosscheck_spec::KernelError::Device(why)));
        }
    };
    let seen = guards::inspect(&output);
    if let Some(&first) = seen.out_of_bounds.first() {
        return Err(Failure::OutOfBounds {
            bytes: seen.out_of_bounds.len(),
            first_offset: first,
        });
    }
    Ok(output)
}

/// Where a rerun's output differs from the first run's.
struct Difference {
    /// Elements that differ.
    count: usize,
    /// Elements compared.
    compared: usize,
    /// Largest distance in units in the last place (0 for raw bytes).
    max_ulps: u64,
    /// The first differing element: its index in the full output, the first run's bits and
    /// the rerun's.
    first: (usize, u32, u32),
}

impl Difference {
    /// Compares `part` with `full` on `spans`; `None` when every element matches.
    fn between(
        full: &OutputBuffer,
        part: &OutputBuffer,
        spans: &[(usize, usize, usize)],
    ) -> Option<Self> {
        let precision = full.precision();
        let size = precision.bytes();
        let poison = guards::poison_bits(precision);
        let element =
            |buffer: &OutputBuffer, i: usize| precision.bits(&buffer.payload()[i * size..][..size]);
        let mut diff: Option<Difference> = None;
        let mut compared = 0;
        for &(from, to, len) in spans {
            for offset in 0..len {
                let (a, b) = (element(full, to + offset), element(part, from + offset));
                compared += 1;
                if same(precision, a, b, poison) {
                    continue;
                }
                let d = diff.get_or_insert(Difference {
                    count: 0,
                    compared: 0,
                    max_ulps: 0,
                    first: (to + offset, a, b),
                });
                d.count += 1;
                d.max_ulps = d.max_ulps.max(ulps_apart(precision, a, b));
            }
        }
        diff.map(|d| Difference { compared, ..d })
    }

    /// `3 of 15 elements, up to 2 ulp; first C[0,4,1] = 1.5 there, 1.5000001 here`.
    fn describe(&self, problem: &Problem, precision: Precision) -> String {
        let (index, a, b) = self.first;
        let value = |bits: u32| match precision {
            Precision::F32 => f32::from_bits(bits).to_string(),
            _ => num(codec::bits_to_f64(precision, bits)),
        };
        let ulps = if precision == Precision::U8 {
            String::new()
        } else {
            format!(", up to {} ulp", self.max_ulps)
        };
        format!(
            "{} of {} elements{ulps}; first {} = {} in the full launch, {} here",
            self.count,
            self.compared,
            element_label(problem, index),
            value(a),
            value(b)
        )
    }
}

/// Whether two stored elements agree: equal bits, or two NaNs neither of which is the poison.
fn same(precision: Precision, a: u32, b: u32, poison: u32) -> bool {
    if a == b {
        return true;
    }
    let nan = |bits| {
        precision != Precision::U8 && bits != poison && codec::bits_to_f64(precision, bits).is_nan()
    };
    nan(a) && nan(b)
}

/// Distance between two stored floats in units in the last place (NaN or infinity against a
/// finite value counts as the whole range); for raw bytes, 0.
fn ulps_apart(precision: Precision, a: u32, b: u32) -> u64 {
    if precision == Precision::U8 {
        return 0;
    }
    let width = 8 * precision.bytes() as u32;
    let ordered = |bits: u32| {
        let magnitude = i64::from(bits & ((1u32 << (width - 1)) - 1));
        if bits >> (width - 1) & 1 == 1 {
            -magnitude
        } else {
            magnitude
        }
    };
    ordered(a).abs_diff(ordered(b))
}
