//! Bounded memory: a case estimated to need more host memory than `--max-memory` (or
//! CROSSCHECK_MAX_MEMORY, or half the physical memory) is refused with an error naming need and
//! limit — exit code 2 from `repro` and `bench`, a skipped case with the reason in the matrix and
//! the soak — instead of dying in the allocator (exit 134) or running for minutes.

#![cfg(feature = "cli")]

use std::process::{Command, Output};
use std::sync::Arc;

use crosscheck::run::memory::{self, case_bytes};
use crosscheck::{Case, CaseResult, run_case};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::Backend;

/// The id of issue 14: a 100000 × 100000 f32 output is 40 GB before the oracle's f64 values.
const FORTY_GB: &str = "matmul.naive:cpu:f32:b1m100000n100000k2.rr:uniform:0x1";
/// Attention with 64 heads of a million queries and keys, d 1024: terabytes of Q, K, V and O.
const HUGE_ATTENTION: &str =
    "attention.naive:cpu:f32:b1h64g64q1000000k1000000d1024v1024:uniform:0x1";
/// A normal small case: about 4 MiB by the estimate, a few milliseconds to run.
const SMALL: &str = "matmul.naive:cpu:f32:b1m128n128k128.rr:uniform:0x1";

fn crosscheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crosscheck"));
    cmd.args(args)
        .env_remove("CROSSCHECK_REQUIRE")
        .env_remove(memory::MAX_MEMORY_VAR);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("crosscheck runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts exit code 2 with the memory error (and not a crash, a pass or a failure).
fn assert_refused(o: &Output, limit: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error: the case needs about ")
            && t.contains(&format!("of memory; the limit is {limit}"))
            && t.contains("(--max-memory or CROSSCHECK_MAX_MEMORY)"),
        "{t}"
    );
    assert!(!t.contains("PASS") && !t.contains("FAIL"), "{t}");
}

#[test]
fn the_forty_gigabyte_repro_is_refused_with_exit_code_2() {
    // Before the limit this aborted in the allocator: "memory allocation of 40000000256 bytes
    // failed", SIGABRT, exit code 134.
    let o = crosscheck(&["repro", FORTY_GB], &[]);
    assert_refused(&o, "");
    assert!(text(&o).contains("TiB of memory"), "{}", text(&o));
}

#[test]
fn a_huge_attention_repro_is_refused_with_exit_code_2() {
    let o = crosscheck(&["repro", HUGE_ATTENTION], &[]);
    assert_refused(&o, "");
}

#[test]
fn max_memory_refuses_a_small_case_below_it_and_runs_it_above() {
    let o = crosscheck(&["repro", SMALL, "--max-memory", "1M"], &[]);
    assert_refused(&o, "1.0 MiB");
    let o = crosscheck(&["repro", SMALL, "--max-memory", "1G"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("PASS (bound tier"), "{t}");
}

#[test]
fn the_environment_sets_the_limit_and_the_option_overrides_it() {
    let env = [(memory::MAX_MEMORY_VAR, "1MiB")];
    assert_refused(&crosscheck(&["repro", SMALL], &env), "1.0 MiB");
    let o = crosscheck(&["repro", SMALL, "--max-memory", "1GiB"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_size_that_is_not_one_is_a_usage_error() {
    let o = crosscheck(&["repro", SMALL, "--max-memory", "x"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("`x` is not a size"), "{t}");
    let o = crosscheck(&["repro", SMALL], &[(memory::MAX_MEMORY_VAR, "lots")]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("CROSSCHECK_MAX_MEMORY: `lots` is not a size"),
        "{t}"
    );
}

#[test]
fn the_matrix_and_the_soak_skip_cases_past_the_limit_with_the_reason() {
    let cell = [
        "--backend",
        "cpu",
        "--op",
        "matmul",
        "--kernel",
        "naive",
        "--precision",
        "f32",
    ];
    let mut args = vec!["run", "--cases", "0", "--max-memory", "100K"];
    args.extend(cell);
    let o = crosscheck(&args, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(
            "skipped matmul.naive:cpu:f32:b1m127n129k255.rr:uniform:0x5ef4: the case needs about"
        ),
        "{t}"
    );
    assert!(!t.contains("FAIL"), "{t}");
    let mut args = vec!["soak", "--cases", "3", "--seed", "1", "--max-memory", "1"];
    args.extend(cell);
    let o = crosscheck(&args, &[]);
    let t = text(&o);
    // A soak that judged nothing is not a pass.
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("skipped because: the case needs about")
            && t.contains("0 cases judged")
            && t.contains("no case was judged"),
        "{t}"
    );
}

#[test]
fn bench_refuses_sizes_past_the_limit_up_front() {
    let dir = std::env::temp_dir().join(format!("crosscheck-memory-{}", std::process::id()));
    let out_dir = dir.to_str().expect("utf-8 temp dir");
    let o = crosscheck(
        &[
            "bench",
            "--sizes",
            "256,100000",
            "--no-accuracy",
            "--out-dir",
            out_dir,
        ],
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error: --sizes 100000: the case needs about"),
        "{t}"
    );
    let o = crosscheck(
        &[
            "bench",
            "--sizes",
            "256",
            "--verify-size",
            "1000000",
            "--no-accuracy",
            "--out-dir",
            out_dir,
        ],
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error: --verify-size 1000000: the case needs about"),
        "{t}"
    );
    assert!(!dir.exists(), "nothing is written for a refused bench");
}

#[test]
fn the_library_refuses_a_case_past_the_limit_as_not_applicable() {
    // The only test in this binary that sets the process-wide limit.
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let case: Case = SMALL.parse().unwrap();
    memory::set_max_memory(Some(1 << 20));
    let refused = run_case(&cpu, &case);
    memory::set_max_memory(Some(1 << 30));
    let ran = run_case(&cpu, &case);
    memory::set_max_memory(None);
    match refused {
        Ok(CaseResult::NotApplicable(reason)) => assert!(
            reason.starts_with("the case needs about") && reason.contains("the limit is 1.0 MiB"),
            "{reason}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match ran {
        Ok(CaseResult::Judged { verdict, .. }) => assert!(verdict.passed(), "{verdict:?}"),
        other => panic!("expected a verdict, got {other:?}"),
    }
}

#[test]
fn the_estimate_grows_with_the_problem_and_saturates() {
    let bytes = |id: &str| case_bytes(&id.parse::<Case>().unwrap());
    let matmul = |s: usize| {
        bytes(&format!(
            "matmul.tiled:cpu:f32:b1m{s}n{s}k{s}.rr:normal:0x1"
        ))
    };
    let sizes: Vec<u128> = [1, 10, 100, 1000, 10_000].into_iter().map(matmul).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    // At least the 40 GB output and the oracle's f64 value per element.
    assert!(bytes(FORTY_GB) > 40_000_000_000 + 8 * 10_000_000_000);
    let attention = |q: usize| {
        bytes(&format!(
            "attention.flash:cpu:f16:b1h8g2q{q}k{q}d64v64.causal:normal:0x1"
        ))
    };
    assert!(attention(10) < attention(1000));
    assert!(bytes(HUGE_ATTENTION) > bytes(FORTY_GB));
    let max = usize::MAX;
    for id in [
        format!("matmul.naive:cpu:f32:b{max}m{max}n{max}k{max}.rr:normal:0x1"),
        format!("attention.naive:cpu:f32:b{max}h{max}g{max}q{max}k{max}d{max}v{max}:normal:0x1"),
        format!("quantize.q8_0:cpu:f32:q8_0.r{max}c{max}:normal:0x1"),
        format!("qmatmul.fp8:cpu:f32:fp8-e4m3-128x128.m{max}n{max}k{max}:normal:0x1"),
    ] {
        assert_eq!(bytes(&id), u128::MAX, "{id}");
    }
}
