//! The backends of this machine: the CPU, one per wgpu adapter, the process backends the user
//! asked for, and the expected APIs that are missing (with the reason and an install hint).
//! Detected once per process.

use std::sync::{Arc, OnceLock};

#[cfg(feature = "wgpu")]
use crosscheck_kernels::WgpuBackend;
use crosscheck_kernels::{CpuBackend, MissingApi};
use crosscheck_spec::Backend;

use crate::process::{ProcessBackend, ProcessSpec};

/// The API name under which a process backend that could not be started is listed as missing.
pub const PROCESS_API: &str = "process";

/// The API or backend names [`REQUIRE_VAR`] lists (none when it is unset).
pub fn required_names() -> Vec<String> {
    std::env::var(REQUIRE_VAR)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Name and command of every process backend started, for replay lines.
static PROCESS_COMMANDS: std::sync::Mutex<Vec<(String, String)>> =
    std::sync::Mutex::new(Vec::new());

/// The command that replays the case `id`: `crosscheck repro <id>`, with the `--backend-cmd`
/// that starts its backend when that backend is a process.
pub fn repro_command(id: &str) -> String {
    let backend = id.split(':').nth(1).unwrap_or_default();
    let commands = PROCESS_COMMANDS.lock().unwrap_or_else(|p| p.into_inner());
    match commands.iter().find(|(name, _)| name == backend) {
        Some((_, command)) => format!(
            "crosscheck repro {id} --backend-cmd {}",
            shell_quote(command)
        ),
        None if built_in(backend) => format!("crosscheck repro {id}"),
        // A backend the CLI cannot start (a downstream crate's own): replay it in Rust.
        None => format!(
            "crosscheck::cells::repro(&backend, \"{id}\") (or CROSSCHECK_REPRO={id} with a crosscheck::cell_tests! target)"
        ),
    }
}

/// True for the names of the backends the `crosscheck` command finds by itself.
fn built_in(backend: &str) -> bool {
    backend == "cpu" || backend.starts_with("wgpu-")
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The process backends the registry starts, set once before its first use.
static PROCESS_SPECS: OnceLock<Vec<ProcessSpec>> = OnceLock::new();

/// Asks the process-wide [`registry`] to start these process backends too. Call it before the
/// first use of [`registry`]; `Err` when the registry was already configured or detected.
pub fn use_process_backends(specs: Vec<ProcessSpec>) -> Result<(), String> {
    if REGISTRY.get().is_some() {
        return Err("the backends were detected before process backends were configured".into());
    }
    PROCESS_SPECS
        .set(specs)
        .map_err(|_| "process backends were configured twice".to_string())
}

/// Environment variable listing backends that must be present (`cpu,vulkan,gl`): a missing one is
/// then a failure instead of an unavailable column.
pub const REQUIRE_VAR: &str = "CROSSCHECK_REQUIRE";

/// What this machine offers.
pub struct Registry {
    /// Every usable backend, CPU first.
    pub all: Vec<Arc<dyn Backend>>,
    /// The wgpu backends, for callers that patch shaders.
    #[cfg(feature = "wgpu")]
    pub wgpu: Vec<WgpuBackend>,
    /// Expected APIs without a usable adapter.
    pub missing: Vec<MissingApi>,
}

impl Registry {
    /// Detects the CPU and every wgpu adapter, and starts the configured process backends.
    pub fn detect() -> Registry {
        Registry::detect_with(PROCESS_SPECS.get().map_or(&[], Vec::as_slice))
    }

    /// Detects the CPU and every wgpu adapter, and starts the process backends of `specs`. A
    /// process that cannot be started, or that declares a name already taken, is listed as
    /// missing with the reason (and [`Registry::check_required`] fails for it).
    pub fn detect_with(specs: &[ProcessSpec]) -> Registry {
        let mut all: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend)];
        #[cfg(feature = "wgpu")]
        let discovery = crosscheck_kernels::discover();
        #[cfg(feature = "wgpu")]
        all.extend(
            discovery
                .backends
                .iter()
                .map(|b| Arc::new(b.clone()) as Arc<dyn Backend>),
        );
        #[cfg(feature = "wgpu")]
        let mut missing = discovery.missing;
        #[cfg(not(feature = "wgpu"))]
        let mut missing = Vec::new();
        for spec in specs {
            let label = spec.name.clone().unwrap_or_else(|| spec.command.clone());
            let unusable = |reason: String| MissingApi {
                backend: label.clone(),
                api: PROCESS_API,
                reason,
                hint: format!(
                    "run `{}` by hand: it must answer the handshake of docs/protocol.md on stdout",
                    spec.command
                ),
            };
            match ProcessBackend::start(spec.clone()) {
                Ok(backend) if all.iter().any(|b| b.name() == backend.name()) => {
                    missing.push(unusable(format!(
                        "`{}` declared the backend name `{}`, which is already taken",
                        spec.command,
                        backend.name()
                    )));
                }
                Ok(backend) => {
                    PROCESS_COMMANDS
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((backend.name().to_string(), spec.command.clone()));
                    all.push(Arc::new(backend))
                }
                Err(reason) => missing.push(unusable(reason)),
            }
        }
        Registry {
            all,
            #[cfg(feature = "wgpu")]
            wgpu: discovery.backends,
            missing,
        }
    }

    /// The backend named `name` (e.g. `cpu`, `wgpu-vulkan`).
    pub fn find(&self, name: &str) -> Option<Arc<dyn Backend>> {
        self.all.iter().find(|b| b.name() == name).cloned()
    }

    /// The first wgpu backend whose API is `api` (e.g. `vulkan`).
    #[cfg(feature = "wgpu")]
    pub fn wgpu(&self, api: &str) -> Option<&WgpuBackend> {
        self.wgpu.iter().find(|b| b.device().api == api)
    }

    /// Names of every usable backend.
    pub fn names(&self) -> Vec<String> {
        self.all.iter().map(|b| b.name().to_string()).collect()
    }

    /// Checks [`REQUIRE_VAR`]: every listed API or backend name must be present; and every
    /// process backend asked for must have started.
    pub fn check_required(&self) -> Result<(), String> {
        let mut problems: Vec<String> = self
            .missing
            .iter()
            .filter(|m| m.api == PROCESS_API)
            .map(|m| format!("{}: {}", m.backend, m.reason))
            .collect();
        let list = std::env::var(REQUIRE_VAR).unwrap_or_default();
        for wanted in required_names() {
            let wanted = wanted.as_str();
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
        } else if list.is_empty() {
            Err(format!(
                "process backends could not be started:\n  {}",
                problems.join("\n  ")
            ))
        } else {
            Err(format!(
                "{REQUIRE_VAR}={list} but required backends are missing:\n  {}",
                problems.join("\n  ")
            ))
        }
    }
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// The process-wide registry (detection runs on first use, with the process backends set by
/// [`use_process_backends`]).
pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::detect)
}
