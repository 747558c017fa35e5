//! Report formats and where each goes: `--format` and `--out`, paired in order, or the format
//! guessed from the file's extension; with no `--out`, one format goes to stdout.

use std::path::PathBuf;

/// A report format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The aligned text matrix (the default).
    Table,
    /// The complete versioned record (docs/report-schema.md).
    Json,
    /// GitHub-flavoured Markdown, for pull-request comments.
    Markdown,
    /// JUnit XML: one test per cell.
    Junit,
    /// One self-contained HTML page (inline CSS, JavaScript and SVG; no network).
    Html,
}

impl Format {
    /// The format a file name implies, if its extension says.
    fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "xml" | "junit" => Some(Format::Junit),
            "txt" => Some(Format::Table),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// The options that choose report formats and files.
#[derive(clap::Args, Default, Clone)]
pub struct OutputArgs {
    /// Report format; repeat it to pair with several --out files (in order). Without --out, the
    /// one format is printed.
    #[arg(long, value_enum)]
    pub format: Vec<Format>,
    /// Write a report to this file; repeatable (e.g. --out run.json --out run.xml). The format
    /// is the --format at the same position, or follows the extension (.json, .xml, .md, .html,
    /// .txt).
    #[arg(long)]
    pub out: Vec<PathBuf>,
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Printed.
    Stdout,
    /// Written to this file.
    File(PathBuf),
}

impl OutputArgs {
    /// Every (format, destination) to produce, or why the options do not make sense. When only
    /// files are asked for, the table still goes to stdout.
    pub fn plan(&self) -> Result<Vec<(Format, Destination)>, String> {
        let mut plan = Vec::new();
        match (self.format.len(), self.out.len()) {
            (0, 0) => plan.push((Format::Table, Destination::Stdout)),
            (1, 0) => plan.push((self.format[0], Destination::Stdout)),
            (_, 0) => {
                return Err(
                    "several --format without --out: only one report can go to stdout".into(),
                );
            }
            (f, o) if f == o => {
                plan.extend(
                    self.format
                        .iter()
                        .zip(&self.out)
                        .map(|(&f, p)| (f, Destination::File(p.clone()))),
                );
            }
            (0, _) => {
                for path in &self.out {
                    let format = Format::from_extension(path).ok_or_else(|| {
                        format!(
                            "cannot tell the format of {} from its extension: name it .json, .xml, \
                             .md, .html or .txt, or give --format for each --out",
                            path.display()
                        )
                    })?;
                    plan.push((format, Destination::File(path.clone())));
                }
            }
            (f, o) => {
                return Err(format!(
                    "{f} --format for {o} --out: give one --format per --out, or none (formats then \
                     follow the extensions)"
                ));
            }
        }
        if !plan.iter().any(|(_, d)| *d == Destination::Stdout) {
            plan.insert(0, (Format::Table, Destination::Stdout));
        }
        Ok(plan)
    }
}

/// Writes `text` to `destination`; an unwritable file is an error naming it.
pub fn emit(text: &str, destination: &Destination) -> Result<(), String> {
    match destination {
        Destination::Stdout => {
            crate::commands::say_raw(text);
            if !text.ends_with('\n') {
                crate::commands::say_raw("\n");
            }
            Ok(())
        }
        Destination::File(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
    }
}
