//! `crosscheck encode` / `decode`: files through the reference codecs.

use std::process::ExitCode;

use crate::say;

#[derive(clap::Args)]
pub struct ConvertArgs {
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

/// Encodes (`encoding`) or decodes a file.
pub fn convert(args: ConvertArgs, encoding: bool) -> ExitCode {
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
