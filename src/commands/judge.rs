//! `crosscheck judge FILE.safetensors`: judges one case captured anywhere (inputs, output and
//! problem in one file) with the same oracle, contract and report as a run.

use std::path::Path;
use std::process::ExitCode;

use crosscheck::process::captured::Captured;
use crosscheck::report::describe_case;

use crate::commands::say_raw;
use crate::say;

/// Judges the captured case in `path`: exit 0 when it passes, 1 when it fails, 2 when the file
/// is not a usable captured case.
pub fn judge(path: &Path) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let captured = match Captured::parse(&bytes) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let verdict = captured.judge();
    say!("file     {}", path.display());
    say_raw(&describe_case(&captured.case, &verdict));
    let c = &captured.contract;
    say!(
        "contract acc {}, output rounding {:?}, subnormals {:?}, softmax {:?}",
        c.accumulator.name(),
        c.output_rounding,
        c.subnormals,
        c.softmax
    );
    if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
