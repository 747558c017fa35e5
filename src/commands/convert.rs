//! `crosscheck encode` / `decode`: files through the reference codecs.

use std::process::ExitCode;

use crate::say;

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// f16, bf16, q8_0, q4_0, int8, fp8-e4m3, fp8-e4m3-1x128, fp8-e4m3-128x128, fp8-e5m2,
    /// mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, mxint8, nvfp4, ggml-mxfp4, q4_k,
    /// q5_k, q6_k, fp8-e4m3-1x128-ue8m0 or fp8-e4m3-128x128-ue8m0 (layouts in docs/formats.md).
    #[arg(long)]
    format: crosscheck::convert::Format,
    /// MX formats: how the shared E8M0 scale follows from the block's amax (floor, ceil, even,
    /// rceil; default floor).
    #[arg(long)]
    scale_rule: Option<crosscheck_reference::formats::ScaleRule>,
    /// MX formats: element rounding, nearest with ties to even or away from zero (default even).
    #[arg(long)]
    rounding: Option<crosscheck_reference::formats::ElementRounding>,
    /// fp8-e5m2: past 57344, saturate or infinity (default infinity).
    #[arg(long, value_parser = parse_overflow)]
    overflow: Option<crosscheck_reference::formats::Overflow>,
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

fn parse_overflow(s: &str) -> Result<crosscheck_reference::formats::Overflow, String> {
    use crosscheck_reference::formats::Overflow;
    match s {
        "saturate" => Ok(Overflow::Saturate),
        "infinity" => Ok(Overflow::Infinity),
        _ => Err(format!(
            "unknown overflow `{s}` (expected saturate or infinity)"
        )),
    }
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
    let options = crosscheck_reference::formats::Options {
        scale_rule: args.scale_rule,
        rounding: args.rounding,
        overflow: args.overflow,
    };
    let result = if encoding {
        crosscheck::convert::encode(args.format, &input, args.row_length, options)
    } else {
        crosscheck::convert::decode(args.format, &input, args.row_length, options)
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
