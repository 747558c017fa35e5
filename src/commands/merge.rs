//! `crosscheck merge a.json b.json ...`: run records from several machines or shards as one
//! portability matrix, printed or written as text, Markdown, JSON or an HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use crosscheck::report::merge::{render_merged_markdown, render_merged_text};
use crosscheck::report::{merge, render_merged_html};

use crate::commands::output::{Format, OutputArgs, emit};

#[derive(clap::Args)]
pub struct MergeArgs {
    /// JSON records written by `crosscheck run --format json` (or `--out x.json`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Merges the files; exit code 1 when a cell failed or verdicts disagree, 2 on unusable input.
pub fn merge_command(args: MergeArgs) -> ExitCode {
    let outputs = match args.output.plan() {
        Ok(outputs) => outputs,
        Err(e) => return usage(&e),
    };
    let mut files = Vec::new();
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(text) => files.push((path.display().to_string(), text)),
            Err(e) => return usage(&format!("cannot read {}: {e}", path.display())),
        }
    }
    let matrix = match merge(&files) {
        Ok(m) => m,
        Err(e) => return usage(&e),
    };
    for (format, destination) in &outputs {
        let text = match format {
            Format::Table => render_merged_text(&matrix),
            Format::Markdown => render_merged_markdown(&matrix),
            Format::Json => serde_json::to_string_pretty(&matrix).expect("matrix serialises"),
            Format::Html => render_merged_html(&matrix),
            Format::Junit => {
                return usage(
                    "merge writes table, markdown, json or html; JUnit comes from each `crosscheck run`",
                );
            }
        };
        if let Err(e) = emit(&text, destination) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if matrix.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
