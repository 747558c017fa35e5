//! The `crosscheck` command: with no arguments, detects every backend and runs the conformance
//! matrix; `repro <id>` re-runs one case; `list` shows backends, kernels and their contracts.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crosscheck::report::{describe_case, render_matrix};
use crosscheck::run::matrix::Progress;
use crosscheck::run::{CellKey, run_case};
use crosscheck::{Case, CaseResult, Plan, registry, run_matrix};
use crosscheck_spec::{Op, Variant};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints a line to stdout, ignoring a closed pipe (e.g. `crosscheck list | head`).
macro_rules! say {
    ($($arg:tt)*) => { say_raw(&format!("{}\n", format_args!($($arg)*))) };
}

fn say_raw(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

#[derive(Parser)]
#[command(
    name = "crosscheck",
    version,
    about = "Checks ML kernels against an f64 oracle on every backend and precision"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the conformance matrix (the default when no command is given).
    Run(RunArgs),
    /// Re-run one case from its id and print its worst elements.
    Repro {
        /// A case id as printed by a failure, e.g. matmul.tiled:wgpu-vulkan:f16:b1m7n5k3.cr:exact:0x5eee
        id: String,
    },
    /// List backends, kernels, variants and their declared contracts.
    List,
    /// Convert raw little-endian f32 values into a format's exact bytes (reference codec).
    Encode(ConvertArgs),
    /// Convert a format's bytes back into raw little-endian f32 values.
    Decode(ConvertArgs),
}

#[derive(clap::Args)]
struct ConvertArgs {
    /// f16, bf16, q8_0, q4_0, int8, fp8-e4m3, fp8-e4m3-1x128 or fp8-e4m3-128x128 (layouts in docs/formats.md).
    #[arg(long)]
    format: crosscheck::convert::Format,
    /// File to read.
    #[arg(long)]
    input: std::path::PathBuf,
    /// File to write.
    #[arg(long)]
    output: std::path::PathBuf,
    /// Values per row, for formats with per-row or per-tile scales (default: the whole input is one row).
    #[arg(long)]
    row_length: Option<usize>,
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Seed for the random cases and all input data.
    #[arg(long, default_value_t = Plan::default().seed)]
    seed: u64,
    /// Random cases per cell, on top of the fixed edge cases.
    #[arg(long, default_value_t = Plan::default().random_cases)]
    cases: usize,
    /// Only this op (e.g. matmul).
    #[arg(long)]
    op: Option<Op>,
    /// Only kernels with this name (e.g. tiled).
    #[arg(long)]
    kernel: Option<String>,
    /// Only backends whose name or API contains this (e.g. vulkan, cpu).
    #[arg(long)]
    backend: Option<String>,
    /// Only this variant (f32, f16, f16n, bf16).
    #[arg(long)]
    precision: Option<Variant>,
}

fn main() -> ExitCode {
    quiet_wayland_probe();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(RunArgs {
        seed: Plan::default().seed,
        cases: Plan::default().random_cases,
        ..Default::default()
    })) {
        Command::Run(args) => run(args),
        Command::Repro { id } => repro(&id),
        Command::List => list(),
        Command::Encode(args) => convert(args, true),
        Command::Decode(args) => convert(args, false),
    }
}

/// Vulkan loaders probe for a Wayland display and print errors when XDG_RUNTIME_DIR is unset
/// (headless machines, CI). Point it at the temp dir so the probe fails quietly.
fn quiet_wayland_probe() {
    if cfg!(target_os = "linux") && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

struct Bar(ProgressBar);

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

fn run(args: RunArgs) -> ExitCode {
    let plan = Plan {
        seed: args.seed,
        random_cases: args.cases,
    };
    eprintln!(
        "crosscheck {}: detecting backends...",
        env!("CARGO_PKG_VERSION")
    );
    let reg = registry();
    let filter = |key: &CellKey| {
        args.op.is_none_or(|op| key.op == op)
            && args.kernel.as_ref().is_none_or(|k| &key.kernel == k)
            && args
                .backend
                .as_ref()
                .is_none_or(|b| key.backend.contains(b.as_str()))
            && args.precision.is_none_or(|v| key.variant == v)
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cases  {elapsed}  {msg}")
            .expect("valid progress template"),
    );
    let report = run_matrix(&reg.all, &plan, &filter, &Bar(bar.clone()));
    bar.finish_and_clear();
    let missing: Vec<_> = reg
        .missing
        .iter()
        .filter(|m| {
            args.backend
                .as_ref()
                .is_none_or(|b| m.backend.contains(b.as_str()))
        })
        .cloned()
        .collect();
    say!("{}", render_matrix(&report, &missing));
    if report.cells.is_empty() {
        eprintln!("no cell matches the filters");
        return ExitCode::FAILURE;
    }
    let cases: usize = report.cells.iter().map(|(_, s)| s.cases()).sum();
    say!(
        "{} cells, {cases} cases in {:.1}s (plan seed {:#x})",
        report.cells.len(),
        report.elapsed.as_secs_f64(),
        plan.seed
    );
    let required = reg.check_required();
    if let Err(e) = &required {
        say!("{e}");
    }
    if report.any_failed() || required.is_err() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn repro(id: &str) -> ExitCode {
    let case: Case = match id.parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let reg = registry();
    let Some(backend) = reg.find(&case.backend) else {
        eprintln!(
            "error: backend `{}` is not available here (available: {})",
            case.backend,
            reg.names().join(", ")
        );
        return ExitCode::from(2);
    };
    match run_case(&backend, &case) {
        Ok(CaseResult::Judged { verdict, elapsed }) => {
            say_raw(&describe_case(&case, &verdict));
            say!(
                "time     {:.3} ms in the backend",
                elapsed.as_secs_f64() * 1e3
            );
            if verdict.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(CaseResult::NotApplicable(reason)) => {
            say!("case     {case}\nverdict  n/a: {reason}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn list() -> ExitCode {
    let reg = registry();
    for b in &reg.all {
        let d = b.device();
        say!("{}  {} ({}; {})", b.name(), d.device, d.api, d.driver);
        for k in b.kernels() {
            say!("  {}/{}: {}", k.op, k.name, k.summary);
            for v in &k.variants {
                let c = &v.contract;
                let state = v
                    .unavailable
                    .as_ref()
                    .map_or(String::new(), |r| format!("  [n/a: {r}]"));
                say!(
                    "    {:5} acc {}, output rounding {:?}, subnormals {:?}, deterministic {}, batch-invariant {}{state}",
                    v.variant.label(),
                    c.accumulator.name(),
                    c.output_rounding,
                    c.subnormals,
                    c.deterministic,
                    c.batch_invariant
                );
            }
        }
    }
    for m in &reg.missing {
        say!(
            "{}  unavailable: {}\n  hint: {}",
            m.backend,
            m.reason,
            m.hint
        );
    }
    ExitCode::SUCCESS
}

fn convert(args: ConvertArgs, encoding: bool) -> ExitCode {
    let input = match std::fs::read(&args.input) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.input.display());
            return ExitCode::from(2);
        }
    };
    let result = if encoding {
        crosscheck::convert::encode(args.format, &input, args.row_length)
    } else {
        crosscheck::convert::decode(args.format, &input, args.row_length)
    };
    let output = match result {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::write(&args.output, &output) {
        eprintln!("error: cannot write {}: {e}", args.output.display());
        return ExitCode::from(2);
    }
    let format = args.format.to_string();
    let (what, from, to) = if encoding {
        ("encoded", "f32", format.as_str())
    } else {
        ("decoded", format.as_str(), "f32")
    };
    say!(
        "{what} {} bytes of {from} into {} bytes of {to}: {}",
        input.len(),
        output.len(),
        args.output.display()
    );
    ExitCode::SUCCESS
}
