//! The `crosscheck` command: with no arguments, detects every backend and runs the conformance
//! matrix; the subcommands (one file each in `commands/`) re-run a case, list the backends,
//! convert between formats and run the mutation catalogue.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crosscheck::Plan;

mod commands;

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
    Run(commands::run::RunArgs),
    /// Re-run one case from its id and print its worst elements.
    Repro {
        /// A case id as printed by a failure, e.g. matmul.tiled:wgpu-vulkan:f16:b1m7n5k3.cr:exact:0x5eee
        id: String,
        #[command(flatten)]
        process: commands::ProcessArgs,
        #[command(flatten)]
        memory: commands::MemoryArgs,
    },
    /// Judge one captured case: a safetensors file with the inputs, the output `out` and the
    /// problem in its metadata (docs/protocol.md, "Captured cases").
    Judge {
        /// The captured case, e.g. written by crosscheck_backend.capture(...).
        file: std::path::PathBuf,
    },
    /// List backends, kernels, variants and their declared contracts.
    List(commands::ProcessArgs),
    /// Convert raw little-endian f32 values into a format's exact bytes (reference codec).
    Encode(commands::convert::ConvertArgs),
    /// Convert a format's bytes back into raw little-endian f32 values.
    Decode(commands::convert::ConvertArgs),
    /// Run the mutation catalogue: every catalogued porting bug against the default suite.
    Mutants(commands::mutants::MutantsArgs),
    /// Judge the same cases and mutants by the criteria other suites use, next to crosscheck's.
    Criteria(commands::criteria::CriteriaArgs),
    /// Run many random cases per cell on the correct kernels: false alarms and throughput.
    Soak(commands::soak::SoakArgs),
    /// Time every kernel on every backend: GFLOP/s, roofline fractions, portability, plots.
    Bench(commands::bench::BenchArgs),
    /// Combine JSON records from several machines or shards into one portability matrix.
    Merge(commands::merge::MergeArgs),
    /// Translate every WGSL kernel to SPIR-V, MSL, HLSL and GLSL and check WebGPU's limits.
    Shaders,
}

fn main() -> ExitCode {
    quiet_wayland_probe();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(commands::run::RunArgs {
        seed: Plan::default().seed,
        cases: Plan::default().random_cases,
        ..Default::default()
    }));
    let process = match &command {
        Command::Run(args) => Some(&args.process),
        Command::Repro { process, .. } | Command::List(process) => Some(process),
        Command::Soak(args) => Some(&args.process),
        Command::Bench(args) => Some(&args.process),
        _ => None,
    };
    if let Some(Err(e)) = process.map(commands::ProcessArgs::configure) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match command {
        Command::Run(args) => commands::run::run(args),
        Command::Repro { id, memory, .. } => commands::repro::repro(&id, &memory),
        Command::List(_) => commands::list::list(),
        Command::Judge { file } => commands::judge::judge(&file),
        Command::Encode(args) => commands::convert::convert(args, true),
        Command::Decode(args) => commands::convert::convert(args, false),
        Command::Mutants(args) => commands::mutants::mutants(args),
        Command::Criteria(args) => commands::criteria::criteria(args),
        Command::Soak(args) => commands::soak::soak_command(args),
        Command::Shaders => commands::shaders::shaders(),
        Command::Merge(args) => commands::merge::merge_command(args),
        Command::Bench(args) => commands::bench::bench_command(args),
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
