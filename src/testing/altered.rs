//! A test double for the common shape of a broken or re-declared backend: the CPU kernels
//! (or any backend) with their declarations edited and each output post-processed, so a test
//! states only what it changes.

use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, OutputBuffer, Problem, Variant,
    VariantInfo,
};

/// `inner` under another name, every declared variant passed through `declare`, and every
/// output passed through `after` once `inner` has written it.
pub struct Altered<B, D, A> {
    /// The backend underneath.
    pub inner: B,
    /// The name this copy reports.
    pub name: &'static str,
    /// Edits each declared variant (its contract, or makes it unavailable).
    pub declare: D,
    /// Rewrites the output of a launch of this problem.
    pub after: A,
}

impl<B, D, A> Backend for Altered<B, D, A>
where
    B: Backend,
    D: Fn(&mut VariantInfo) + Send + Sync,
    A: Fn(&Problem, &mut OutputBuffer) + Send + Sync,
{
    fn name(&self) -> &str {
        self.name
    }
    fn device(&self) -> DeviceInfo {
        self.inner.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        let mut kernels = self.inner.kernels();
        kernels
            .iter_mut()
            .flat_map(|k| k.variants.iter_mut())
            .for_each(&self.declare);
        kernels
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        self.inner.run(kernel, variant, problem, inputs, output)?;
        (self.after)(problem, output);
        Ok(())
    }
}

/// A `declare` that changes nothing.
pub fn as_declared(_: &mut VariantInfo) {}

/// An `after` that changes nothing.
pub fn as_computed(_: &Problem, _: &mut OutputBuffer) {}
