//! `crosscheck shaders`: every WGSL module translated to SPIR-V, MSL, HLSL and GLSL by naga, and
//! measured against WebGPU's default limits; no device needed.

use std::process::ExitCode;

use crosscheck::portability::{TARGETS, Translation, check_all};

use crate::say;

/// Prints one line per module; exit code 1 if any module fails to translate for any target.
pub fn shaders() -> ExitCode {
    let reports = check_all(None);
    let header: Vec<String> = TARGETS.iter().map(|t| format!("{:>8}", t.name())).collect();
    say!(
        "{:22} {:5} {}  {:>10} {:>8} {:>4}  WebGPU defaults",
        "kernel",
        "var.",
        header.join(" "),
        "workgroup",
        "wg bytes",
        "bufs"
    );
    let mut failed = 0;
    for report in &reports {
        let cells: Vec<String> = report
            .targets
            .iter()
            .map(|(_, t)| match t {
                Translation::Written(bytes) => format!("{bytes:>8}"),
                Translation::NotApplicable(_) => format!("{:>8}", "n/a"),
                Translation::Failed(_) => format!("{:>8}", "FAIL"),
            })
            .collect();
        let (size, bytes, bufs) = match &report.front_end {
            Ok(u) => (
                format!(
                    "{}x{}x{}",
                    u.workgroup_size[0], u.workgroup_size[1], u.workgroup_size[2]
                ),
                u.workgroup_storage_bytes.to_string(),
                u.storage_buffers.to_string(),
            ),
            Err(_) => ("-".into(), "-".into(), "-".into()),
        };
        let over = report.limits_exceeded();
        let fit = if over.is_empty() {
            "fit".to_string()
        } else {
            format!("NEED MORE: {}", over.join(", "))
        };
        say!(
            "{:22} {:5} {}  {size:>10} {bytes:>8} {bufs:>4}  {fit}",
            report.kernel,
            report.variant.label(),
            if cells.is_empty() {
                format!("{:>35}", "WGSL INVALID")
            } else {
                cells.join(" ")
            },
        );
        if let Err(e) = &report.front_end {
            say!("    {e}");
        }
        for (target, translation) in &report.targets {
            if let Translation::Failed(e) = translation {
                say!("    {}: {e}", target.name());
            }
        }
        failed += usize::from(!report.translated_everywhere());
    }
    say!(
        "{} modules, {} translated for every target that can take them; sizes are bytes of output",
        reports.len(),
        reports.len() - failed,
    );
    let lacking: Vec<String> = TARGETS
        .iter()
        .filter_map(|t| t.lacks_f16().map(|why| format!("{}: {why}", t.name())))
        .collect();
    say!("n/a: {}", lacking.join("; "));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
