//! The `Backend` trait: the one thing a third party implements to be checked by crosscheck.

use crate::{HostTensor, KernelError, KernelId, KernelInfo, OutputBuffer, Problem, Variant};

/// Who runs the kernels: API, device and driver, as shown in reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// API or runtime, e.g. `cpu`, `vulkan`, `gl`, `metal`, `dx12`.
    pub api: String,
    /// Device name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub device: String,
    /// Driver name and version, if known.
    pub driver: String,
}

/// A set of kernels on one device.
///
/// The harness asks [`Backend::check`] before every run and only calls [`Backend::run`] when it
/// answers `Ok`. Implementations must never panic on bad input: they return a [`KernelError`].
/// (If one panics anyway, the harness fails only that cell.)
pub trait Backend: Send + Sync {
    /// Unique name in the matrix, e.g. `cpu` or `wgpu-vulkan`.
    fn name(&self) -> &str;

    /// The device behind the backend.
    fn device(&self) -> DeviceInfo;

    /// The kernels this backend offers, with their variants and declared contracts.
    fn kernels(&self) -> Vec<KernelInfo>;

    /// Answers before running whether `kernel` in `variant` can solve `problem` here:
    /// `Err(Unsupported)` with the reason, `Err(InvalidProblem)` for malformed problems.
    ///
    /// The default validates the problem and looks the kernel and variant up in
    /// [`Backend::kernels`] (an unavailable variant answers with its reason); backends with
    /// limits of their own (sizes, devices) override it.
    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        problem.validate()?;
        let kernels = self.kernels();
        let found = KernelId::new(problem.op(), kernel)
            .find(&kernels)
            .and_then(|k| k.variant(variant));
        match found {
            Some(info) => match &info.unavailable {
                Some(reason) => Err(KernelError::Unsupported(reason.clone())),
                None => Ok(()),
            },
            None => Err(KernelError::Unsupported(format!(
                "{} has no {} kernel `{kernel}` in {variant}",
                self.name(),
                problem.op()
            ))),
        }
    }

    /// Runs `kernel` on `inputs` (in [`Problem::input_specs`] order), writing `output`'s payload.
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError>;
}
