//! Captured cases: a `run` request plus its answer, computed anywhere (an NPU during real
//! inference, a notebook) and saved as one safetensors file, judged like any other case.

use crosscheck_spec::{HostTensor, NumericContract, Op, OutputBuffer, Precision, Variant};

use super::declaration::ContractJson;
use super::exchange::memory_shape;
use super::message::{Message, dtype_name};
use super::problem_json::parse_problem;
use crate::case::{Case, Distribution};
use crate::guards::GuardReport;
use crate::judge::{self, Verdict};
use crate::run::expect::expectation;

/// A captured case, read and checked.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The case (distribution `uniform`, seed 0: the data is the file's, not generated).
    pub case: Case,
    /// The stored inputs, in the problem's order.
    pub inputs: Vec<HostTensor>,
    /// The captured output.
    pub output: OutputBuffer,
    /// The contract to judge it by.
    pub contract: NumericContract,
}

/// Why a file is not a usable captured case.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CaptureError(String);

impl Captured {
    /// Reads a captured case from the bytes of a safetensors file.
    pub fn parse(bytes: &[u8]) -> Result<Captured, CaptureError> {
        let err = |s: String| CaptureError(s);
        let m = Message::decode(bytes).map_err(|e| err(e.to_string()))?;
        let op: Op = m
            .get("op")
            .map_err(|e| err(e.to_string()))?
            .parse()
            .map_err(err)?;
        let problem =
            parse_problem(op, m.get("problem").map_err(|e| err(e.to_string()))?).map_err(err)?;
        let out = m
            .tensors
            .get("out")
            .ok_or_else(|| err("the file has no output tensor named `out`".into()))?;
        let variant = match m.metadata.get("variant") {
            Some(v) => v.parse::<Variant>().map_err(err)?,
            // Ops whose output is in the variant's precision.
            None if !matches!(op, Op::Quantize | Op::Dequantize | Op::QuantMatmul) => {
                match out.precision {
                    Precision::U8 => {
                        return Err(err(format!(
                            "output `out` is U8; {op} outputs are F32, F16 or BF16"
                        )));
                    }
                    p => Variant::portable(p),
                }
            }
            None => Variant::portable(Precision::F32),
        };
        let mut inputs = Vec::new();
        for spec in problem.input_specs() {
            let t = m.tensors.get(spec.name).ok_or_else(|| {
                err(format!(
                    "the file has no input tensor named `{}` ({op} needs {})",
                    spec.name,
                    problem
                        .input_specs()
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let precision = spec.storage.precision(variant);
            if t.precision != precision {
                return Err(err(format!(
                    "input `{}` is {} but the problem in {variant} needs {}",
                    spec.name,
                    dtype_name(t.precision),
                    dtype_name(precision)
                )));
            }
            let shape = memory_shape(&spec.shape, spec.layout);
            if t.shape != shape {
                return Err(err(format!(
                    "input `{}` has shape {:?} but the problem needs {shape:?}",
                    spec.name, t.shape
                )));
            }
            inputs.push(HostTensor {
                shape: spec.shape.clone(),
                layout: spec.layout,
                precision,
                bytes: t.bytes.clone(),
            });
        }
        let out_precision = problem.output_precision(variant);
        if out.precision != out_precision || out.shape != problem.output_shape() {
            return Err(err(format!(
                "output `out` is {} {:?} but the problem needs {} {:?}",
                dtype_name(out.precision),
                out.shape,
                dtype_name(out_precision),
                problem.output_shape()
            )));
        }
        let mut output = OutputBuffer::new(out_precision, problem.output_len(), 0);
        output.payload_mut().copy_from_slice(&out.bytes);
        let contract = match m.metadata.get("contract") {
            Some(json) => ContractJson::parse(json).map_err(err)?,
            None => NumericContract::IEEE_F32,
        };
        let name = |key: &str, default: &str| {
            m.metadata
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        let case = Case {
            kernel: name("kernel", "captured"),
            backend: name("backend", "captured"),
            variant,
            problem,
            distribution: Distribution::Uniform,
            seed: 0,
        };
        Ok(Captured {
            case,
            inputs,
            output,
            contract,
        })
    }

    /// Judges the output against the oracle and the contract's bound. Elements the problem says
    /// to leave untouched are not judged: what they held before the capture is unknown.
    pub fn judge(&self) -> Verdict {
        let expected = expectation(&self.case, &self.inputs, &self.contract);
        let guards = GuardReport {
            unwritten: expected.untouched.clone(),
            out_of_bounds: Vec::new(),
        };
        judge::judge(&self.contract, &expected, &self.output, &guards)
    }
}
