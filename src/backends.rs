//! The backends of this machine: the CPU, one per wgpu adapter, and the expected APIs that are
//! missing (with the reason and an install hint). Detected once per process.

use std::sync::{Arc, OnceLock};

use crosscheck_kernels::{CpuBackend, MissingApi, WgpuBackend};
use crosscheck_spec::Backend;

/// Environment variable listing backends that must be present (`cpu,vulkan,gl`): a missing one is
/// then a failure instead of an unavailable column.
pub const REQUIRE_VAR: &str = "CROSSCHECK_REQUIRE";

/// What this machine offers.
pub struct Registry {
    /// Every usable backend, CPU first.
    pub all: Vec<Arc<dyn Backend>>,
    /// The wgpu backends, for callers that patch shaders.
    pub wgpu: Vec<WgpuBackend>,
    /// Expected APIs without a usable adapter.
    pub missing: Vec<MissingApi>,
}

impl Registry {
    /// Detects the CPU and every wgpu adapter.
    pub fn detect() -> Registry {
        let discovery = crosscheck_kernels::discover();
        let mut all: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend)];
        all.extend(
            discovery
                .backends
                .iter()
                .map(|b| Arc::new(b.clone()) as Arc<dyn Backend>),
        );
        Registry {
            all,
            wgpu: discovery.backends,
            missing: discovery.missing,
        }
    }

    /// The backend named `name` (e.g. `cpu`, `wgpu-vulkan`).
    pub fn find(&self, name: &str) -> Option<Arc<dyn Backend>> {
        self.all.iter().find(|b| b.name() == name).cloned()
    }

    /// The first wgpu backend whose API is `api` (e.g. `vulkan`).
    pub fn wgpu(&self, api: &str) -> Option<&WgpuBackend> {
        self.wgpu.iter().find(|b| b.device().api == api)
    }

    /// Names of every usable backend.
    pub fn names(&self) -> Vec<String> {
        self.all.iter().map(|b| b.name().to_string()).collect()
    }

    /// Checks [`REQUIRE_VAR`]: every listed API or backend name must be present.
    pub fn check_required(&self) -> Result<(), String> {
        let Ok(list) = std::env::var(REQUIRE_VAR) else {
            return Ok(());
        };
        let mut problems = Vec::new();
        for wanted in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let present = self
                .all
                .iter()
                .any(|b| b.name() == wanted || b.device().api == wanted);
            if !present {
                let why = match self
                    .missing
                    .iter()
                    .find(|m| m.api == wanted || m.backend == wanted)
                {
                    Some(m) => format!("{}: {} ({})", m.backend, m.reason, m.hint),
                    None => format!("no backend named or of API `{wanted}` on this machine"),
                };
                problems.push(why);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{REQUIRE_VAR}={list} but required backends are missing:\n  {}",
                problems.join("\n  ")
            ))
        }
    }
}

/// The process-wide registry (detection runs on first use).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::detect)
}
