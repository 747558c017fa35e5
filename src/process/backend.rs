//! [`ProcessBackend`]: a backend whose kernels run in another process. It starts the process,
//! reads its declaration, sends each launch as a `run` request and turns every fault of the
//! process — a crash, a hang, garbage, a wrong answer — into that launch's typed error,
//! restarting the process before the next one.

use std::sync::Mutex;
use std::time::Duration;

use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, OutputBuffer, Problem, Variant,
};

use super::ProcessSpec;
use super::child::{Child, Fault};
use super::declaration::Declaration;
use super::exchange::{Answer, HEADER_ALLOWANCE, failed, read_answer, run_request};
use super::message::{Message, WireTensor};
use crate::run::cell::default_timeout;
use crate::run::launch_context::LaunchContext;

/// The protocol version this harness speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// The largest handshake answer accepted.
const HANDSHAKE_LIMIT: usize = 1 << 20;

/// A backend served by a process speaking the protocol of `docs/protocol.md`.
///
/// Each concurrent launch gets a process of its own: idle processes wait in a pool, and a
/// launch that finds none starts another (the soak runs cases in parallel), so a process that
/// hangs holds up only the launch it was serving.
pub struct ProcessBackend {
    spec: ProcessSpec,
    declaration: Declaration,
    idle: Mutex<Vec<Child>>,
}

impl ProcessBackend {
    /// Starts the process and reads its declaration; `Err` says why it could not be used,
    /// with the tail of its standard error.
    pub fn start(spec: ProcessSpec) -> Result<ProcessBackend, String> {
        let (child, declaration) = start_child(&spec)?;
        if let Some(name) = &spec.name
            && name != &declaration.name
        {
            return Err(format!(
                "`{}` declared the backend `{}`, but its configuration names it `{name}`",
                spec.command, declaration.name
            ));
        }
        Ok(ProcessBackend {
            spec,
            declaration,
            idle: Mutex::new(vec![child]),
        })
    }

    /// The command that serves this backend.
    pub fn command(&self) -> &str {
        &self.spec.command
    }

    /// An idle process, or a new one (whose declaration must match the first one's).
    fn take_child(&self) -> Result<Child, KernelError> {
        if let Some(child) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(child);
        }
        let (child, declaration) = start_child(&self.spec).map_err(|e| {
            KernelError::Device(format!("{} could not be (re)started: {e}", self.name()))
        })?;
        if declaration != self.declaration {
            return Err(KernelError::Device(format!(
                "{} declared other kernels or contracts when started again",
                self.name()
            )));
        }
        Ok(child)
    }

    /// Puts a process that answered well back in the pool.
    fn give_back(&self, child: Child) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
    }

    /// Sends one request to a process and reads the answer; on any fault the process is
    /// killed (the next launch starts another) and the fault is this launch's error.
    fn exchange(
        &self,
        request: &Message,
        limit: usize,
        timeout: Duration,
    ) -> Result<(Message, Child), KernelError> {
        let mut child = self.take_child()?;
        let fault = match child.exchange(request.encode(), limit, timeout) {
            Ok(bytes) => match Message::decode(&bytes) {
                Ok(answer) => return Ok((answer, child)),
                Err(e) => format!("it answered with {e}"),
            },
            Err(Fault::Timeout(after)) => {
                child.kill();
                return Err(KernelError::Timeout(after));
            }
            Err(Fault::Exited(how)) => how,
            Err(Fault::Frame(what)) => what,
        };
        child.kill();
        let fault = if fault.contains("stderr") {
            fault
        } else {
            format!("{fault}; {}", child.stderr_tail())
        };
        Err(KernelError::Device(format!(
            "process backend {}: {fault} (the process was stopped; the next case starts another)",
            self.name()
        )))
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &str {
        &self.declaration.name
    }

    fn device(&self) -> DeviceInfo {
        self.declaration.device.clone()
    }

    fn kernels(&self) -> Vec<KernelInfo> {
        self.declaration.kernels.clone()
    }

    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        problem.validate_buffers(variant, inputs, output)?;
        let context = LaunchContext::current();
        let case_id = context.as_ref().map_or("", |c| c.case_id.as_str());
        let mut request = run_request(case_id, kernel, variant, problem, inputs);
        if problem.leaves_outputs() {
            // Elements the kernel must leave untouched: it receives what they hold, as
            // DeepGEMM's kernels receive their output `d`, and must answer it unchanged there.
            request.tensors.insert(
                "out".into(),
                WireTensor {
                    precision: output.precision(),
                    shape: problem.output_shape(),
                    bytes: output.payload().to_vec(),
                },
            );
        }
        if let Some(part) = context.as_ref().and_then(|c| c.part.as_deref()) {
            request.set("launch", part);
        }
        let limit = output.payload_len() + HEADER_ALLOWANCE;
        let (answer, mut child) = self.exchange(&request, limit, default_timeout())?;
        let result = match read_answer(&answer, problem, variant) {
            Ok(Answer::Output(bytes)) => {
                output.payload_mut().copy_from_slice(&bytes);
                Ok(())
            }
            Ok(Answer::Unsupported(reason)) => Err(KernelError::Unsupported(reason)),
            Ok(Answer::Failed(message)) => Err(failed(self.name(), &message)),
            Err(wrong) => {
                // A wrong answer leaves the process in an unknown state.
                child.kill();
                return Err(KernelError::Device(format!(
                    "process backend {} answered {wrong} (the process was stopped; the next case starts another)",
                    self.name()
                )));
            }
        };
        self.give_back(child);
        result
    }
}

/// Starts the process and performs the handshake.
fn start_child(spec: &ProcessSpec) -> Result<(Child, Declaration), String> {
    let mut child = Child::spawn(spec)?;
    let mut hello = Message::of_type("hello");
    hello.set("protocol", PROTOCOL_VERSION);
    hello.set(
        "harness",
        format!("crosscheck {}", env!("CARGO_PKG_VERSION")),
    );
    let fail = |child: &mut Child, what: String| {
        child.kill();
        Err(format!(
            "`{}` {what}; {}",
            spec.command,
            child.stderr_tail()
        ))
    };
    let answer = match child.exchange(hello.encode(), HANDSHAKE_LIMIT, default_timeout()) {
        Ok(bytes) => bytes,
        Err(Fault::Timeout(after)) => {
            return fail(
                &mut child,
                format!("did not answer the handshake within {after:?}"),
            );
        }
        Err(Fault::Exited(how)) => {
            child.kill();
            return Err(format!(
                "`{}` ended during the handshake: {how}",
                spec.command
            ));
        }
        Err(Fault::Frame(what)) => {
            return fail(&mut child, format!("answered the handshake with {what}"));
        }
    };
    let message = match Message::decode(&answer) {
        Ok(m) => m,
        Err(e) => return fail(&mut child, format!("answered the handshake with {e}")),
    };
    match message.kind() {
        Ok("hello") => {}
        Ok("failed") => {
            let why = message.get("message").unwrap_or("(no message)").to_string();
            return fail(&mut child, format!("refused the handshake: {why}"));
        }
        Ok(other) => {
            return fail(
                &mut child,
                format!("answered the handshake with a `{other}` message"),
            );
        }
        Err(e) => return fail(&mut child, format!("answered the handshake with {e}")),
    }
    match message.get("protocol") {
        Ok(PROTOCOL_VERSION) => {}
        Ok(other) => {
            return fail(
                &mut child,
                format!("speaks protocol {other}; this crosscheck speaks {PROTOCOL_VERSION}"),
            );
        }
        Err(e) => {
            return fail(
                &mut child,
                format!("answered the handshake without a version ({e})"),
            );
        }
    }
    let declared = match message.get("backend") {
        Ok(json) => Declaration::parse(json),
        Err(e) => Err(e.to_string()),
    };
    match declared {
        Ok(declaration) => Ok((child, declaration)),
        Err(e) => fail(&mut child, format!("declared its backend wrongly: {e}")),
    }
}
