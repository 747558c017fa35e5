//! Shader portability without the hardware: every WGSL module the wgpu backend compiles is parsed
//! and validated by naga, translated to the four shading languages wgpu's native backends consume
//! (SPIR-V for Vulkan, MSL for Metal, HLSL for DX12, GLSL for GL), and measured against WebGPU's
//! default limits. A kernel that would not compile for Metal or DX12 is caught on a Linux box.

mod limits;
mod targets;

pub use limits::{ResourceUse, WEBGPU_DEFAULTS, WebGpuLimits, resource_use};
pub use targets::{TARGETS, Target, Translation, translate};

use crosscheck_kernels::WgpuBackend;
use crosscheck_spec::{KernelId, Variant};

/// What happened to one module.
#[derive(Debug, Clone)]
pub struct ModuleReport {
    /// `op/name` of the kernel.
    pub kernel: String,
    /// The variant the module is built for.
    pub variant: Variant,
    /// Parse or validation error of the WGSL itself, if any (then nothing was translated).
    pub front_end: Result<ResourceUse, String>,
    /// Per target, what translation gave.
    pub targets: Vec<(Target, Translation)>,
}

impl ModuleReport {
    /// True when the module parsed, validated and translated for every target that can take it.
    pub fn translated_everywhere(&self) -> bool {
        self.front_end.is_ok()
            && self
                .targets
                .iter()
                .all(|(_, t)| !matches!(t, Translation::Failed(_)))
    }

    /// The WebGPU default limits the module exceeds, in words (empty when it fits).
    pub fn limits_exceeded(&self) -> Vec<String> {
        self.front_end
            .as_ref()
            .map(|use_| use_.exceeds(&WEBGPU_DEFAULTS))
            .unwrap_or_default()
    }
}

/// Checks one WGSL module: parse, validate, measure, translate to every target.
pub fn check_module(kernel: &str, variant: Variant, source: &str) -> ModuleReport {
    let parsed = naga::front::wgsl::parse_str(source)
        .map_err(|e| format!("WGSL parse: {}", e.emit_to_string(source)));
    let module = match parsed {
        Ok(module) => module,
        Err(e) => {
            return ModuleReport {
                kernel: kernel.to_string(),
                variant,
                front_end: Err(e),
                targets: Vec::new(),
            };
        }
    };
    let targets = TARGETS
        .iter()
        .map(|&target| (target, translate(&module, target)))
        .collect();
    ModuleReport {
        kernel: kernel.to_string(),
        variant,
        front_end: Ok(resource_use(&module)),
        targets,
    }
}

/// A kernel name (`op/name`) and a rewrite of its WGSL source.
pub type Patch<'a> = (&'a KernelId, &'a dyn Fn(&str) -> String);

/// Checks every module the wgpu backend would compile (every kernel × variant), with `patch`
/// applied to the named kernel's source when given (how a test breaks one on purpose).
pub fn check_all(patch: Option<Patch>) -> Vec<ModuleReport> {
    WgpuBackend::modules()
        .into_iter()
        .map(|(kernel, variant, source)| {
            let source = match patch {
                Some((id, patch)) if *id == kernel => patch(&source),
                _ => source,
            };
            check_module(&kernel.to_string(), variant, &source)
        })
        .collect()
}
