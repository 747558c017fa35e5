//! `crosscheck bench`: times every selected kernel on every backend (plus the `gemm` and
//! `matrixmultiply` crates on the CPU for comparison), prints the table, and writes the JSON
//! record and the SVG plots into one directory, and on request the record or an HTML page with
//! the plots inline (`--out bench.html`) elsewhere.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crosscheck::bench::{
    self, BENCH_SCHEMA, BackendPeak, BenchPlan, BenchProgress, BenchReport, accuracy, plot, probe,
};
use crosscheck::registry;
use crosscheck::report::render_bench_html;
use crosscheck::run::{CellKey, Plan, memory};
use crosscheck::verify::large::problem as square_matmul;
use crosscheck_gemm_backend::GemmBackend;
use crosscheck_spec::{Backend, Precision, Problem, Variant};
use indicatif::ProgressBar;

use crate::commands::output::{Destination, Format, OutputArgs, emit};
use crate::commands::{CellArgs, MemoryArgs, ProcessArgs, progress_bar};
use crate::say;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub cells: CellArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Matmul sides to time (M = N = K), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = BenchPlan::default().sizes)]
    pub sizes: Vec<usize>,
    /// A launch slower than this (seconds) ends a kernel's size ladder.
    #[arg(long, default_value_t = BenchPlan::default().max_seconds)]
    pub max_seconds: f64,
    /// Directory for bench.json and the SVG plots.
    #[arg(long, default_value = "bench-results")]
    pub out_dir: PathBuf,
    /// Also time verifying an N³ f32 product (CPU tiled) by Freivalds' check and by the full oracle.
    #[arg(long)]
    pub verify_size: Option<usize>,
    /// With --verify-size: skip the full oracle (O(N³), blocked and threaded).
    #[arg(long)]
    pub skip_oracle: bool,
    /// Skip the err/bound distribution (which runs the default plan's matmul and attention cases).
    #[arg(long)]
    pub no_accuracy: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

struct Bar(ProgressBar);

impl BenchProgress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn step(&self, what: &str) {
        self.0.set_message(what.to_string());
    }
    fn done(&self) {
        self.0.inc(1);
    }
}

/// Runs the benchmark; exit code 1 if a file cannot be written, 2 on bad options (including
/// `--sizes` or `--verify-size` past the memory limit).
pub fn bench_command(args: BenchArgs) -> ExitCode {
    if args.sizes.is_empty() || args.sizes.contains(&0) {
        eprintln!("error: --sizes needs positive sides, e.g. --sizes 256,512,1024");
        return ExitCode::from(2);
    }
    if let Err(e) = check_memory(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let outputs = match bench_outputs(&args.output) {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.out_dir) {
        eprintln!("error: cannot create {}: {e}", args.out_dir.display());
        return ExitCode::FAILURE;
    }
    let plan = BenchPlan {
        sizes: args.sizes.clone(),
        max_seconds: args.max_seconds,
        ..BenchPlan::default()
    };
    let reg = registry();
    let cells = args.cells.filter();
    let wants_cpu = cells.matches_backend("cpu") || cells.matches_backend("external-gemm");
    eprintln!("measuring rooflines...");
    let cpu_roofline = wants_cpu.then(probe::cpu);
    let mut backends: Vec<(Arc<dyn Backend>, Option<probe::Roofline>)> = Vec::new();
    let mut peaks = Vec::new();
    for backend in &reg.all {
        if !cells.matches_backend(backend.name()) {
            continue;
        }
        let (roofline, error) = match reg.wgpu.iter().find(|w| w.name() == backend.name()) {
            Some(w) => match probe::wgpu(w) {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e)),
            },
            None => (cpu_roofline, None),
        };
        peaks.push(BackendPeak {
            backend: backend.name().to_string(),
            device: backend.device().device,
            roofline,
            error,
        });
        backends.push((backend.clone(), roofline));
    }
    if wants_cpu {
        let gemm: Arc<dyn Backend> = Arc::new(GemmBackend);
        backends.push((gemm, cpu_roofline));
    }
    let filter = |k: &CellKey| {
        let backend_ok =
            k.backend == "external-gemm" && wants_cpu || cells.matches_backend(&k.backend);
        backend_ok
            && cells.op.is_none_or(|op| k.op == op)
            && cells
                .kernel
                .as_ref()
                .is_none_or(|n| &k.kernel == n || k.backend == "external-gemm")
            && cells.variant.is_none_or(|v| k.variant == v)
    };
    let bar = progress_bar("workloads");
    let measurements = bench::measure(&backends, &filter, &plan, &Bar(bar.clone()));
    bar.finish_and_clear();
    let accuracy = if args.no_accuracy {
        Vec::new()
    } else {
        eprintln!(
            "judging the default plan's matmul and attention cases for the err/bound distribution..."
        );
        let all: Vec<Arc<dyn Backend>> = backends.iter().map(|(b, _)| b.clone()).collect();
        accuracy::sample(&all, &filter, &Plan::default())
    };
    let verification = match args.verify_size {
        None => None,
        Some(n) => {
            eprintln!(
                "verifying a {n}³ product by Freivalds' check{}...",
                if args.skip_oracle {
                    ""
                } else {
                    " and by the full oracle"
                }
            );
            let cpu: Arc<dyn Backend> = reg.all[0].clone();
            match bench::verify::verification_cost(&cpu, "tiled", n, !args.skip_oracle) {
                Ok(v) => Some(v),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let report = BenchReport {
        schema: BENCH_SCHEMA.into(),
        schema_version: 1,
        crosscheck_version: env!("CARGO_PKG_VERSION").into(),
        machine: std::fs::read_to_string("/etc/hostname")
            .map_or("unknown".into(), |h| h.trim().to_string()),
        backends: peaks,
        portability: bench::portability(&measurements),
        measurements,
        accuracy,
        verification,
    };
    let table = crate::commands::bench_table::render(&report);
    if outputs.contains(&(Format::Table, Destination::Stdout)) {
        say!("{table}");
    }
    let json = args.out_dir.join("bench.json");
    let mut written = vec![json.display().to_string()];
    let result = std::fs::write(
        &json,
        serde_json::to_string_pretty(&report).expect("serialises"),
    )
    .map_err(|e| format!("{}: {e}", json.display()))
    .and_then(|()| plot::gflops_by_size(&report.measurements, &args.out_dir))
    .map(|files| written.extend(files))
    .and_then(|()| {
        if report.accuracy.is_empty() {
            return Ok(());
        }
        let file = args.out_dir.join("accuracy.svg");
        plot::accuracy(&report.accuracy, &file)?;
        written.push(file.display().to_string());
        Ok(())
    });
    let result = result.and_then(|()| {
        for (format, destination) in &outputs {
            let text = match format {
                Format::Table if *destination == Destination::Stdout => continue,
                Format::Table => table.clone(),
                Format::Json => serde_json::to_string_pretty(&report).expect("serialises"),
                Format::Html => render_bench_html(&report, &read_plots(&written)?),
                Format::Markdown | Format::Junit => unreachable!("refused by bench_outputs"),
            };
            // emit's error already says "cannot write".
            emit(&text, destination)
                .map_err(|e| e.trim_start_matches("cannot write ").to_string())?;
            if let Destination::File(path) = destination {
                written.push(path.display().to_string());
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            say!("wrote {}", written.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {e}");
            ExitCode::FAILURE
        }
    }
}

/// The reports asked for with --format/--out: table, json or html.
fn bench_outputs(output: &OutputArgs) -> Result<Vec<(Format, Destination)>, String> {
    let outputs = output.plan()?;
    match outputs
        .iter()
        .find(|(f, _)| matches!(f, Format::Markdown | Format::Junit))
    {
        Some((f, _)) => Err(format!(
            "bench writes table, json or html, not {f:?} (name the file .txt, .json or .html)"
        )),
        None => Ok(outputs),
    }
}

/// The SVG plots among the files written, as (file name, SVG text) for the HTML page.
fn read_plots(written: &[String]) -> Result<Vec<(String, String)>, String> {
    written
        .iter()
        .filter(|f| f.ends_with(".svg"))
        .map(|f| {
            let svg = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
            let name = std::path::Path::new(f)
                .file_name()
                .map_or(f.clone(), |n| n.to_string_lossy().into_owned());
            Ok((name, svg))
        })
        .collect()
}

/// Refuses, before anything runs, matmul sizes and a `--verify-size` whose launches would need
/// more memory than the limit (the timed launches do not go through the per-case check).
fn check_memory(args: &BenchArgs) -> Result<(), String> {
    let limit = args.memory.apply()?;
    // The widest precision selected: f32 unless --precision says otherwise.
    let variant = args
        .cells
        .precision
        .unwrap_or(Variant::portable(Precision::F32));
    for &side in &args.sizes {
        let problem = Problem::Matmul(square_matmul(side, side, side));
        memory::check(memory::launch_bytes(&problem, variant), limit)
            .map_err(|e| format!("--sizes {side}: {e}"))?;
    }
    if let Some(n) = args.verify_size {
        let need = bench::verify::verification_bytes(n, !args.skip_oracle);
        memory::check(need, limit).map_err(|e| format!("--verify-size {n}: {e}"))?;
    }
    Ok(())
}
