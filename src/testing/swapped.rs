//! A deliberately broken backend for tests: any backend with matmul's B read through swapped
//! strides (row-major read as column-major and back) — the wrapper bug a suite must catch.

use crosscheck_spec::{
    Backend, DeviceInfo, HostTensor, KernelError, KernelInfo, Layout, OutputBuffer, Problem,
    Variant,
};

/// `inner` with B's layout swapped on every matmul; other ops pass through unchanged.
pub struct SwappedB<B> {
    /// The correct backend underneath.
    pub inner: B,
    /// The name this broken copy reports.
    pub name: &'static str,
}

impl<B: Backend> Backend for SwappedB<B> {
    fn name(&self) -> &str {
        self.name
    }
    fn device(&self) -> DeviceInfo {
        self.inner.device()
    }
    fn kernels(&self) -> Vec<KernelInfo> {
        self.inner.kernels()
    }
    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        self.inner.check(kernel, variant, problem)
    }
    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        let Problem::Matmul(mut p) = problem.clone() else {
            return self.inner.run(kernel, variant, problem, inputs, output);
        };
        let mut b = inputs[1].clone();
        b.layout = match b.layout {
            Layout::RowMajor => Layout::ColMajor,
            Layout::ColMajor => Layout::RowMajor,
        };
        p.b_layout = b.layout;
        self.inner.run(
            kernel,
            variant,
            &Problem::Matmul(p),
            &[inputs[0], &b],
            output,
        )
    }
}
