//! The four translation targets and how naga writes each, with the language versions wgpu's
//! backends ask for: SPIR-V 1.0 (Vulkan), MSL 2.4 (Metal), HLSL shader model 6.2 (DX12 with DXC,
//! the first with 16-bit types) and GLSL ES 3.10 (the first GL ES with compute shaders).

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{Module, ShaderStage};

/// A shading language a WGSL module is translated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// SPIR-V, for Vulkan.
    SpirV,
    /// Metal Shading Language, for Metal.
    Msl,
    /// HLSL, for DirectX 12.
    Hlsl,
    /// GLSL ES, for OpenGL (ES) and WebGL-class drivers.
    Glsl,
}

/// Every target, in report order.
pub const TARGETS: [Target; 4] = [Target::SpirV, Target::Msl, Target::Hlsl, Target::Glsl];

impl Target {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Target::SpirV => "spir-v",
            Target::Msl => "msl",
            Target::Hlsl => "hlsl",
            Target::Glsl => "glsl",
        }
    }

    /// Why this target cannot take a module that uses 16-bit floats, if it cannot: naga's GLSL
    /// writer has no `float16_t` (and wgpu's GL backend never offers `SHADER_F16`), so native-f16
    /// kernels are not applicable on GL rather than broken.
    pub fn lacks_f16(self) -> Option<&'static str> {
        match self {
            Target::Glsl => Some("GLSL (naga and wgpu's GL backend) has no 16-bit floats"),
            _ => None,
        }
    }

    /// The capabilities naga's writer for this target supports: validating against them rejects
    /// what the language cannot express (f64 on Metal, say).
    fn capabilities(self) -> Capabilities {
        match self {
            Target::SpirV => spv::supported_capabilities(),
            Target::Msl => msl::supported_capabilities(),
            Target::Hlsl => hlsl::supported_capabilities(),
            Target::Glsl => glsl::supported_capabilities(),
        }
    }
}

/// The outcome of translating one module for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// Validated and written: the size of the output in bytes.
    Written(usize),
    /// The target cannot take what the module needs (f16 on GLSL), for this reason.
    NotApplicable(&'static str),
    /// Validation or the writer failed: the kernel would not compile there.
    Failed(String),
}

/// Validates `module` for `target` and translates it.
pub fn translate(module: &Module, target: Target) -> Translation {
    if let Some(reason) = target.lacks_f16()
        && uses_f16(module)
    {
        return Translation::NotApplicable(reason);
    }
    match write(module, target) {
        Ok(bytes) => Translation::Written(bytes),
        Err(e) => Translation::Failed(e),
    }
}

/// True when any type in the module is (or holds) a 16-bit float.
fn uses_f16(module: &Module) -> bool {
    module.types.iter().any(|(_, ty)| {
        ty.inner
            .scalar()
            .is_some_and(|s| s.kind == naga::ScalarKind::Float && s.width == 2)
    })
}

/// Validates `module` with the target's capabilities and writes each of its compute entry
/// points (a multi-pass kernel has one per pass); the outputs' total size.
fn write(module: &Module, target: Target) -> Result<usize, String> {
    let info = Validator::new(ValidationFlags::all(), target.capabilities())
        .validate(module)
        .map_err(|e| format!("validation: {}", with_causes(&e.into_inner())))?;
    let entries: Vec<_> = module
        .entry_points
        .iter()
        .filter(|ep| ep.stage == ShaderStage::Compute)
        .collect();
    if entries.is_empty() {
        return Err("no compute entry point".into());
    }
    let mut total = 0;
    for entry in entries {
        total += write_entry(module, &info, target, entry)
            .map_err(|e| format!("entry point `{}`: {e}", entry.name))?;
    }
    Ok(total)
}

/// Writes one compute entry point of the validated `module` for `target`; the output's size.
fn write_entry(
    module: &Module,
    info: &naga::valid::ModuleInfo,
    target: Target,
    entry: &naga::EntryPoint,
) -> Result<usize, String> {
    match target {
        Target::SpirV => {
            let options = spv::Options {
                lang_version: (1, 0),
                ..Default::default()
            };
            let pipeline = spv::PipelineOptions {
                shader_stage: ShaderStage::Compute,
                entry_point: entry.name.clone(),
            };
            spv::write_vec(module, info, &options, Some(&pipeline))
                .map(|words| words.len() * 4)
                .map_err(|e| e.to_string())
        }
        Target::Msl => {
            let options = msl::Options {
                lang_version: (2, 4),
                ..Default::default()
            };
            let pipeline = msl::PipelineOptions {
                entry_point: Some((ShaderStage::Compute, entry.name.clone())),
                ..Default::default()
            };
            msl::write_string(module, info, &options, &pipeline)
                .map(|(text, _)| text.len())
                .map_err(|e| e.to_string())
        }
        Target::Hlsl => {
            let options = hlsl::Options {
                shader_model: hlsl::ShaderModel::V6_2,
                ..Default::default()
            };
            let pipeline = hlsl::PipelineOptions {
                entry_point: Some((ShaderStage::Compute, entry.name.clone())),
            };
            let mut text = String::new();
            hlsl::Writer::new(&mut text, &options, &pipeline)
                .write(module, info, None)
                .map_err(|e| e.to_string())?;
            Ok(text.len())
        }
        Target::Glsl => {
            let options = glsl::Options {
                version: glsl::Version::new_gles(310),
                ..Default::default()
            };
            let pipeline = glsl::PipelineOptions {
                shader_stage: ShaderStage::Compute,
                entry_point: entry.name.clone(),
                multiview: None,
            };
            let mut text = String::new();
            glsl::Writer::new(
                &mut text,
                module,
                info,
                &options,
                &pipeline,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut writer| writer.write())
            .map_err(|e| e.to_string())?;
            Ok(text.len())
        }
    }
}

/// An error and its chain of causes on one line ("type 6 is invalid: capability FLOAT64 ...").
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
