//! Finding wgpu adapters: one backend per adapter, and for every API this platform should have
//! but does not, the reason and how to install it.

use super::WgpuBackend;
use super::gpu::Gpu;
use crate::MissingApi;

/// What adapter discovery found.
pub struct Discovery {
    /// One backend per usable adapter.
    pub backends: Vec<WgpuBackend>,
    /// Expected APIs without a usable adapter.
    pub missing: Vec<MissingApi>,
}

/// Lower-case API name of a wgpu backend.
pub fn api_name(backend: wgpu::Backend) -> &'static str {
    match backend {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        wgpu::Backend::Noop => "noop",
    }
}

/// APIs a machine of this OS is expected to offer, with an install hint for each.
fn expected_apis() -> &'static [(&'static str, &'static str)] {
    if cfg!(target_os = "linux") {
        &[
            (
                "vulkan",
                "install a Vulkan driver; for software Vulkan (llvmpipe) on Debian/Ubuntu: \
                 apt-get install mesa-vulkan-drivers libvulkan1",
            ),
            (
                "gl",
                "install an OpenGL/EGL driver; on Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri",
            ),
        ]
    } else if cfg!(target_os = "macos") {
        &[(
            "metal",
            "Metal ships with macOS 10.13+; check that the machine has a Metal-capable GPU",
        )]
    } else if cfg!(target_os = "windows") {
        &[
            (
                "dx12",
                "update the GPU driver (Windows 10+ ships WARP, a software DX12 device)",
            ),
            ("vulkan", "install the GPU vendor's Vulkan driver"),
        ]
    } else {
        &[]
    }
}

/// Enumerates every adapter of every native API and opens one device on each.
/// `WGPU_BACKEND` (e.g. `vulkan`) restricts the APIs searched, as in other wgpu programs.
pub fn discover() -> Discovery {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends =
        wgpu::Backends::VULKAN | wgpu::Backends::GL | wgpu::Backends::METAL | wgpu::Backends::DX12;
    let desc = desc.with_env();
    let searched = desc.backends;
    let instance = wgpu::Instance::new(desc);
    let adapters = pollster::block_on(instance.enumerate_adapters(searched));
    let mut backends: Vec<WgpuBackend> = Vec::new();
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    for adapter in adapters {
        let info = adapter.get_info();
        let api = api_name(info.backend);
        match Gpu::open(&adapter) {
            Ok(gpu) => {
                let base = format!("wgpu-{api}");
                let same = backends
                    .iter()
                    .filter(|b| b.adapter_info().backend == info.backend)
                    .count();
                let name = if same == 0 {
                    base
                } else {
                    format!("{base}-{}", same + 1)
                };
                backends.push(WgpuBackend::new(name, gpu));
            }
            Err(e) => failures.push((api, e)),
        }
    }
    let missing = expected_apis()
        .iter()
        .filter(|(api, _)| {
            !backends
                .iter()
                .any(|b| api_name(b.adapter_info().backend) == *api)
        })
        .map(|&(api, hint)| {
            let reason = match failures.iter().find(|(a, _)| *a == api) {
                Some((_, e)) => e.clone(),
                None if !searched.contains(backend_bit(api)) => {
                    format!("not searched (WGPU_BACKEND={searched:?})")
                }
                None => format!("no {api} adapter found"),
            };
            MissingApi {
                backend: format!("wgpu-{api}"),
                api,
                reason,
                hint: hint.to_string(),
            }
        })
        .collect();
    Discovery { backends, missing }
}

fn backend_bit(api: &str) -> wgpu::Backends {
    match api {
        "vulkan" => wgpu::Backends::VULKAN,
        "gl" => wgpu::Backends::GL,
        "metal" => wgpu::Backends::METAL,
        "dx12" => wgpu::Backends::DX12,
        _ => wgpu::Backends::empty(),
    }
}
