//! WebGPU's default limits and what a module asks of them: workgroup size, workgroup memory and
//! buffer bindings, read from naga's IR. A kernel within the defaults runs on any WebGPU device
//! without requesting higher limits.

use naga::{AddressSpace, Module, ShaderStage};

/// The compute limits a module's static shape can exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebGpuLimits {
    /// maxComputeInvocationsPerWorkgroup.
    pub invocations_per_workgroup: u32,
    /// maxComputeWorkgroupSizeX, Y and Z.
    pub workgroup_size: [u32; 3],
    /// maxComputeWorkgroupStorageSize, in bytes.
    pub workgroup_storage_bytes: u32,
    /// maxStorageBuffersPerShaderStage.
    pub storage_buffers: u32,
    /// maxUniformBuffersPerShaderStage.
    pub uniform_buffers: u32,
}

/// The WebGPU specification's default limits (what every WebGPU device guarantees).
pub const WEBGPU_DEFAULTS: WebGpuLimits = WebGpuLimits {
    invocations_per_workgroup: 256,
    workgroup_size: [256, 256, 64],
    workgroup_storage_bytes: 16384,
    storage_buffers: 8,
    uniform_buffers: 12,
};

/// What one module's compute entry point asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceUse {
    /// @workgroup_size.
    pub workgroup_size: [u32; 3],
    /// Bytes of `var<workgroup>`, each variable rounded up to 16 bytes as WebGPU counts them.
    pub workgroup_storage_bytes: u32,
    /// `var<storage>` bindings.
    pub storage_buffers: u32,
    /// `var<uniform>` bindings.
    pub uniform_buffers: u32,
}

impl ResourceUse {
    /// Invocations per workgroup.
    pub fn invocations(&self) -> u32 {
        self.workgroup_size.iter().product()
    }

    /// The limits this use exceeds, each as "what: used > limit".
    pub fn exceeds(&self, limits: &WebGpuLimits) -> Vec<String> {
        let mut over = Vec::new();
        let mut check = |what: &str, used: u32, limit: u32| {
            if used > limit {
                over.push(format!("{what} {used} > {limit}"));
            }
        };
        check(
            "invocations per workgroup",
            self.invocations(),
            limits.invocations_per_workgroup,
        );
        for (axis, (&used, &limit)) in ["x", "y", "z"]
            .iter()
            .zip(self.workgroup_size.iter().zip(&limits.workgroup_size))
        {
            check(&format!("workgroup size {axis}"), used, limit);
        }
        check(
            "workgroup storage bytes",
            self.workgroup_storage_bytes,
            limits.workgroup_storage_bytes,
        );
        check(
            "storage buffers",
            self.storage_buffers,
            limits.storage_buffers,
        );
        check(
            "uniform buffers",
            self.uniform_buffers,
            limits.uniform_buffers,
        );
        over
    }
}

/// Reads the resource use of the module's compute entry point (the largest, if several).
pub fn resource_use(module: &Module) -> ResourceUse {
    let workgroup_size = module
        .entry_points
        .iter()
        .filter(|ep| ep.stage == ShaderStage::Compute)
        .map(|ep| ep.workgroup_size)
        .max_by_key(|size| size.iter().product::<u32>())
        .unwrap_or([1, 1, 1]);
    let mut used = ResourceUse {
        workgroup_size,
        workgroup_storage_bytes: 0,
        storage_buffers: 0,
        uniform_buffers: 0,
    };
    for (_, var) in module.global_variables.iter() {
        match var.space {
            AddressSpace::WorkGroup => {
                let size = module.types[var.ty].inner.size(module.to_ctx());
                used.workgroup_storage_bytes += size.div_ceil(16) * 16;
            }
            AddressSpace::Storage { .. } => used.storage_buffers += 1,
            AddressSpace::Uniform => used.uniform_buffers += 1,
            _ => {}
        }
    }
    used
}
