//! Typed errors a backend returns instead of crashing, hanging or losing the device.

use std::time::Duration;

/// Why a kernel did not produce an output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// The backend cannot run this kernel, variant or problem (missing feature, beyond device limits).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The problem or its inputs are malformed (zero dimension, mismatched buffer length, ...).
    #[error("invalid problem: {0}")]
    InvalidProblem(String),
    /// A kernel's shader (or other device code) does not compile: the message names the
    /// kernel and gives the compiler's words.
    #[error("device error: {0}")]
    Compile(String),
    /// The device or driver failed (validation error, device lost).
    #[error("device error: {0}")]
    Device(String),
    /// The work did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}
