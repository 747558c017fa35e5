//! The `crosscheck` subcommands, one file each, and the output helpers they share.

pub mod bench;
pub mod bench_table;
pub mod convert;
pub mod criteria;
pub mod judge;
pub mod list;
pub mod merge;
pub mod mutants;
pub mod output;
pub mod repro;
pub mod run;
pub mod shaders;
pub mod shard;
pub mod soak;

use std::io::Write;

use crosscheck::run::matrix::Progress;
use crosscheck::run::{CellFilter, CellKey};
use crosscheck_spec::{Op, Variant};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints a line to stdout, ignoring a closed pipe (e.g. `crosscheck list | head`).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::commands::say_raw(&format!("{}\n", format_args!($($arg)*))) };
}

pub fn say_raw(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// A progress bar on stderr (drawn only on a terminal) that follows a matrix run.
pub struct Bar(pub ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn cell(&self, key: &CellKey) {
        self.0
            .set_message(format!("{} {} {}", key.row(), key.backend, key.variant));
    }
    fn case_done(&self) {
        self.0.inc(1);
    }
}

/// The options that select cells, shared by the commands that run them.
#[derive(clap::Args, Default, Clone)]
pub struct CellArgs {
    /// Only this op (e.g. matmul).
    #[arg(long)]
    pub op: Option<Op>,
    /// Only kernels with this name (e.g. tiled).
    #[arg(long)]
    pub kernel: Option<String>,
    /// Only backends whose name or API contains this (e.g. vulkan, cpu).
    #[arg(long)]
    pub backend: Option<String>,
    /// Only this variant (f32, f16, f16n, bf16).
    #[arg(long)]
    pub precision: Option<Variant>,
}

impl CellArgs {
    /// The selection as the library takes it.
    pub fn filter(&self) -> CellFilter {
        CellFilter {
            op: self.op,
            kernel: self.kernel.clone(),
            backend: self.backend.clone(),
            variant: self.precision,
        }
    }
}

/// A progress bar with crosscheck's style.
pub fn progress_bar(unit: &str) -> ProgressBar {
    ProgressBar::new(0).with_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {unit}  {{elapsed}}  {{msg}}"
        ))
        .expect("valid progress template"),
    )
}

/// The process backends to start, shared by the commands that use backends.
#[derive(clap::Args, Default, Clone)]
pub struct ProcessArgs {
    /// Also start a process backend with this command line (run by the shell; repeatable). It
    /// speaks the protocol of docs/protocol.md, e.g. `python3 my_kernels.py`. Backends declared
    /// in ./crosscheck.toml are started too.
    #[arg(long = "backend-cmd", value_name = "COMMAND")]
    pub backend_cmd: Vec<String>,
}

impl ProcessArgs {
    /// Hands the process backends of `--backend-cmd` and ./crosscheck.toml to the registry;
    /// `Err` for an unreadable configuration file.
    pub fn configure(&self) -> Result<(), String> {
        let mut specs = crosscheck::process::load_config(std::path::Path::new(
            crosscheck::process::config::CONFIG_FILE,
        ))?;
        specs.extend(
            self.backend_cmd
                .iter()
                .map(|c| crosscheck::process::ProcessSpec::command(c)),
        );
        if specs.is_empty() {
            return Ok(());
        }
        eprintln!(
            "starting {} process backend{}...",
            specs.len(),
            if specs.len() == 1 { "" } else { "s" }
        );
        crosscheck::backends::use_process_backends(specs)
    }
}

/// The memory limit of one case, shared by the commands that generate cases (run, repro, soak,
/// bench).
#[derive(clap::Args, Default, Clone)]
pub struct MemoryArgs {
    /// Refuse cases (and bench sizes) estimated to need more host memory than this: bytes or a
    /// number with a unit, e.g. 512M, 4G, 4GiB (powers of 1024) or 2GB (of 1000). Default:
    /// CROSSCHECK_MAX_MEMORY, else half the physical memory.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = crosscheck::run::memory::parse_size)]
    pub max_memory: Option<u128>,
}

impl MemoryArgs {
    /// Makes `--max-memory` the process-wide limit (over CROSSCHECK_MAX_MEMORY) and returns the
    /// limit in force; `Err` for an unreadable CROSSCHECK_MAX_MEMORY.
    pub fn apply(&self) -> Result<u128, String> {
        if self.max_memory.is_some() {
            crosscheck::run::memory::set_max_memory(self.max_memory);
        }
        crosscheck::run::memory::max_memory()
    }
}
