//! The `run` request and its answer: stored input tensors out, one output tensor back, and
//! every way the answer can be wrong named.

use crosscheck_spec::{HostTensor, KernelError, Layout, Problem, Variant};
use serde_json::json;

use super::message::{Message, WireTensor, dtype_name};
use super::problem_json::{layout_name, problem_json};

/// Room for the header and metadata of an answer on top of its output bytes.
pub const HEADER_ALLOWANCE: usize = 64 * 1024;

/// The shape a tensor has in memory: the logical shape, with the last two dimensions swapped
/// for a column-major matrix.
pub fn memory_shape(shape: &[usize], layout: Layout) -> Vec<usize> {
    let mut s = shape.to_vec();
    let n = s.len();
    if layout == Layout::ColMajor && n >= 2 {
        s.swap(n - 2, n - 1);
    }
    s
}

/// The `run` request for one launch.
pub fn run_request(
    case_id: &str,
    kernel: &str,
    variant: Variant,
    problem: &Problem,
    inputs: &[&HostTensor],
) -> Message {
    let mut m = Message::of_type("run");
    m.set("case", case_id);
    m.set("op", problem.op().name());
    m.set("kernel", kernel);
    m.set("variant", variant.label());
    describe_case(&mut m, variant, problem, inputs);
    m
}

/// Writes the `problem`, `inputs` and `output` metadata and the input tensors.
pub fn describe_case(m: &mut Message, variant: Variant, problem: &Problem, inputs: &[&HostTensor]) {
    m.set("problem", problem_json(problem).to_string());
    let specs = problem.input_specs();
    let listed: Vec<_> = specs
        .iter()
        .zip(inputs)
        .map(|(spec, t)| json!({"name": spec.name, "shape": t.shape, "layout": layout_name(t.layout)}))
        .collect();
    m.set("inputs", serde_json::Value::from(listed).to_string());
    m.set(
        "output",
        json!({"shape": problem.output_shape(), "dtype": dtype_name(problem.output_precision(variant))})
            .to_string(),
    );
    for (spec, t) in specs.iter().zip(inputs) {
        m.tensors.insert(
            spec.name.to_string(),
            WireTensor {
                precision: t.precision,
                shape: memory_shape(&t.shape, t.layout),
                bytes: t.bytes.clone(),
            },
        );
    }
}

/// How an answer turned out.
#[derive(Debug)]
pub enum Answer {
    /// The output bytes, checked against the expected dtype, shape and length.
    Output(Vec<u8>),
    /// The backend declined the case.
    Unsupported(String),
    /// The backend reported a failure.
    Failed(String),
}

/// Reads an answer to a run of `problem` in `variant`; `Err` says what is wrong with it.
pub fn read_answer(
    answer: &Message,
    problem: &Problem,
    variant: Variant,
) -> Result<Answer, String> {
    let kind = answer.kind().map_err(|e| e.to_string())?;
    match kind {
        "output" => {}
        "unsupported" => {
            let reason = answer.get("reason").unwrap_or("(no reason given)");
            return Ok(Answer::Unsupported(reason.to_string()));
        }
        "failed" => {
            let message = answer.get("message").unwrap_or("(no message given)");
            return Ok(Answer::Failed(message.to_string()));
        }
        other => return Err(format!("an answer of unknown type `{other}`")),
    }
    let names: Vec<&str> = answer.tensors.keys().map(String::as_str).collect();
    let Some(out) = answer.tensors.get("out") else {
        return Err(format!(
            "an output without a tensor named `out` (tensors: {})",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        ));
    };
    if answer.tensors.len() != 1 {
        return Err(format!(
            "an output with {} tensors ({}); only `out` is expected",
            names.len(),
            names.join(", ")
        ));
    }
    let precision = problem.output_precision(variant);
    let shape = problem.output_shape();
    if out.precision != precision {
        return Err(format!(
            "an output of dtype {} where the problem needs {}",
            dtype_name(out.precision),
            dtype_name(precision)
        ));
    }
    if out.shape != shape {
        return Err(format!(
            "an output of shape {:?} where the problem needs {shape:?}",
            out.shape
        ));
    }
    let want = problem.output_len() * precision.bytes();
    if out.bytes.len() != want {
        return Err(format!(
            "an output of {} bytes where the problem needs {want}",
            out.bytes.len()
        ));
    }
    Ok(Answer::Output(out.bytes.clone()))
}

/// The typed error for an answer that says the backend failed.
pub fn failed(backend: &str, message: &str) -> KernelError {
    KernelError::Device(format!("{backend} reported a failure: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{MatmulProblem, Precision};

    fn problem() -> Problem {
        Problem::Matmul(MatmulProblem {
            batch: 1,
            m: 2,
            n: 3,
            k: 4,
            a_layout: Layout::ColMajor,
            b_layout: Layout::RowMajor,
            b_broadcast: false,
        })
    }

    fn answer(precision: Precision, shape: Vec<usize>, len: usize) -> Message {
        let mut m = Message::of_type("output");
        m.tensors.insert(
            "out".into(),
            WireTensor {
                precision,
                shape,
                bytes: vec![0; len],
            },
        );
        m
    }

    #[test]
    fn column_major_inputs_travel_in_memory_order() {
        let a = HostTensor {
            shape: vec![1, 2, 4],
            layout: Layout::ColMajor,
            precision: Precision::F32,
            bytes: vec![0; 32],
        };
        let b = HostTensor {
            layout: Layout::RowMajor,
            shape: vec![1, 4, 3],
            bytes: vec![0; 48],
            ..a.clone()
        };
        let f32 = Variant::portable(Precision::F32);
        let m = run_request("id", "np", f32, &problem(), &[&a, &b]);
        assert_eq!(m.tensors["A"].shape, vec![1, 4, 2]);
        assert_eq!(m.tensors["B"].shape, vec![1, 4, 3]);
        assert!(m.get("inputs").unwrap().contains(r#""layout":"col""#));
        assert!(m.get("output").unwrap().contains(r#""dtype":"F32""#));
    }

    #[test]
    fn wrong_answers_are_named() {
        let f32 = Variant::portable(Precision::F32);
        let ok = answer(Precision::F32, vec![1, 2, 3], 24);
        assert!(
            matches!(read_answer(&ok, &problem(), f32), Ok(Answer::Output(b)) if b.len() == 24)
        );
        let dtype = answer(Precision::F16, vec![1, 2, 3], 12);
        assert!(
            read_answer(&dtype, &problem(), f32)
                .unwrap_err()
                .contains("dtype F16")
        );
        let shape = answer(Precision::F32, vec![2, 3], 24);
        assert!(
            read_answer(&shape, &problem(), f32)
                .unwrap_err()
                .contains("shape [2, 3]")
        );
        let empty = Message::of_type("output");
        assert!(
            read_answer(&empty, &problem(), f32)
                .unwrap_err()
                .contains("`out`")
        );
        let odd = Message::of_type("hello");
        assert!(
            read_answer(&odd, &problem(), f32)
                .unwrap_err()
                .contains("unknown type")
        );
    }
}
