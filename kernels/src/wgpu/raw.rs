//! Raw WGSL on a backend's device, outside the kernel registry: what benchmark probes (peak
//! compute and bandwidth) run. Kernels under test never come this way.

use std::time::{Duration, Instant};

use crosscheck_spec::KernelError;

use super::WgpuBackend;

impl WgpuBackend {
    /// Compiles `source` (entry point `main`; bindings: `inputs` as read-only storage in order,
    /// then `output` as read-write storage, then `params` as a uniform buffer, then `scratch`
    /// read-write storage buffers of the given byte sizes, created on the device) and runs one
    /// dispatch of `workgroups`. Returns the wall time of the dispatch including uploads and the
    /// readback of `output`; compilation is not timed.
    #[allow(clippy::too_many_arguments)]
    pub fn run_wgsl(
        &self,
        label: &str,
        source: &str,
        inputs: &[&[u8]],
        output: &mut [u8],
        params: &[u8],
        scratch: &[u64],
        workgroups: [u32; 3],
    ) -> Result<Duration, KernelError> {
        let pipelines =
            self.gpu
                .compile(label, source, &["main"], inputs.len() + 1, scratch.len())?;
        let started = Instant::now();
        self.gpu.dispatch(
            &[(&pipelines[0], workgroups)],
            inputs,
            output,
            params,
            scratch,
        )?;
        Ok(started.elapsed())
    }
}
