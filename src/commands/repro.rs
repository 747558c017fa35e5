//! `crosscheck repro <id>`: re-runs one case and prints its worst elements. A case estimated to
//! need more memory than `--max-memory` allows is refused with exit code 2 (it was not run, so it
//! neither passed nor failed).

use std::process::ExitCode;

use crosscheck::report::describe_case;
use crosscheck::run::memory;
use crosscheck::{Case, CaseResult, registry, run_case};

use crate::commands::{MemoryArgs, say_raw};
use crate::say;

/// Re-runs the case with id `id`; exit code 1 if it fails, 2 for a bad id, an unknown backend or
/// a case past the memory limit.
pub fn repro(id: &str, memory_args: &MemoryArgs) -> ExitCode {
    let case: Case = match id.parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let refused = memory_args.apply().and_then(|limit| {
        memory::check(memory::case_bytes(&case), limit).map_err(|e| e.to_string())
    });
    if let Err(e) = refused {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
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
