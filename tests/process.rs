//! Process backends end to end, through the `crosscheck` command and the Python adapter in
//! `python/` with the example backends in `examples/python/`: correct numpy kernels pass, the
//! planted-bug twin fails with a replayable id, a crash, a hang and a wrong dtype fail only
//! their own cases, unusable commands are named, `crosscheck.toml` declares backends, and
//! captured cases are judged.
//!
//! The tests need a Python with numpy and ml_dtypes: `$CROSSCHECK_PYTHON`, else `.venv/bin/python`
//! (`.ci/run` makes it). Without one each test is reported ignored with the reason; with
//! `CROSSCHECK_REQUIRE_PYTHON=1` (as CI sets) a missing Python fails them instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Environment variable that makes a missing Python a failure instead of an ignored test.
const REQUIRE_PYTHON: &str = "CROSSCHECK_REQUIRE_PYTHON";

/// The fault triggers of `examples/python/numpy_faults.py`, as case ids' problem parts.
const CRASH_CASE: &str = "b1m7n5k3";
const HANG_CASE: &str = "b1m100n1k257";
const WRONG_DTYPE_CASE: &str = "b1m64n64k64";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A Python that imports numpy and ml_dtypes, or why there is none.
fn python() -> Result<PathBuf, String> {
    let candidate = std::env::var_os("CROSSCHECK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let probe = Command::new(&candidate)
        .args(["-c", "import numpy, ml_dtypes"])
        .output();
    match probe {
        Ok(o) if o.status.success() => Ok(candidate),
        Ok(o) => Err(format!(
            "{} cannot import numpy and ml_dtypes: {}",
            candidate.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!(
            "no Python at {} ({e}); make one with `python3 -m venv .venv && .venv/bin/pip install numpy ml_dtypes ./python` or set CROSSCHECK_PYTHON",
            candidate.display()
        )),
    }
}

/// The command line that serves an example backend.
fn example(python: &Path, file: &str) -> String {
    format!(
        "{} {}",
        python.display(),
        root().join("examples/python").join(file).display()
    )
}

fn crosscheck(args: &[&str], env: &[(&str, &str)], dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crosscheck"));
    cmd.args(args)
        .env_remove("CROSSCHECK_REQUIRE")
        .env("PYTHONPATH", root().join("python"));
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
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

fn check(ok: bool, what: &str, output: &str) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}; output:\n{output}").into())
    }
}

fn adapter_unit_tests(python: &Path) -> Result<(), Failed> {
    let o = Command::new(python)
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "python/tests",
            "-t",
            "python",
        ])
        .current_dir(root())
        .env("PYTHONPATH", root().join("python"))
        .output()?;
    let t = text(&o);
    check(
        o.status.success() && t.contains("OK"),
        "the adapter's unittest suite failed",
        &t,
    )
}

fn correct_numpy_kernels_pass(python: &Path) -> Result<(), Failed> {
    let cmd = example(python, "numpy_kernels.py");
    let o = crosscheck(
        &["run", "--backend-cmd", &cmd, "--backend", "numpy-ref"],
        &[],
        None,
    );
    let t = text(&o);
    check(o.status.code() == Some(0), "exit code 0 expected", &t)?;
    for needle in [
        "matmul/np",
        "attention/np",
        "dequantize/q8_0",
        "numpy-ref",
        "7 cells",
    ] {
        check(t.contains(needle), &format!("`{needle}` missing"), &t)?;
    }
    check(
        !t.contains("FAIL") && !t.contains("n/a"),
        "every cell must pass",
        &t,
    )
}

/// The `repro:` line of the first shrunk case in a run's output for `row`.
fn repro_line<'a>(t: &'a str, row: &str) -> Option<&'a str> {
    t.lines()
        .skip_while(|l| !(l.starts_with("FAIL") && l.contains(row)))
        .skip_while(|l| !l.trim().starts_with("shrunk to "))
        .find_map(|l| l.trim().strip_prefix("repro: "))
}

fn planted_bugs_fail_with_a_replayable_id(python: &Path) -> Result<(), Failed> {
    let cmd = example(python, "numpy_buggy.py");
    let o = crosscheck(
        &["run", "--backend-cmd", &cmd, "--backend", "numpy-buggy"],
        &[],
        None,
    );
    let t = text(&o);
    check(o.status.code() == Some(1), "exit code 1 expected", &t)?;
    for row in ["matmul/np", "attention/np"] {
        let line = repro_line(&t, row).ok_or_else(|| format!("no repro line for {row}:\n{t}"))?;
        // crosscheck repro <id> --backend-cmd '<command>'
        let rest = line
            .strip_prefix("crosscheck repro ")
            .ok_or_else(|| format!("odd repro line `{line}`"))?;
        let (id, quoted) = rest
            .split_once(" --backend-cmd ")
            .ok_or_else(|| format!("the repro line `{line}` does not name the backend command"))?;
        check(
            quoted.trim_matches('\'') == cmd,
            "the repro line quotes the command",
            line,
        )?;
        check(
            id.contains(":numpy-buggy:"),
            "the id names the process backend",
            id,
        )?;
        check(
            id.contains(":b1m1n1k2.") || id.contains(":b1h1g1q1k"),
            "the failure shrank to a single row",
            id,
        )?;
        let again = crosscheck(&["repro", id, "--backend-cmd", &cmd], &[], None);
        let r = text(&again);
        check(again.status.code() == Some(1), "the replay fails again", &r)?;
        check(
            r.contains("FAIL") && r.contains("worst elements"),
            "the replay explains",
            &r,
        )?;
    }
    let dequantize = t
        .lines()
        .find(|l| l.starts_with("dequantize/q8_0"))
        .unwrap_or("");
    check(
        dequantize.contains("PASS"),
        "the correct twin kernel still passes",
        &t,
    )
}

fn faults_fail_only_their_cases(python: &Path) -> Result<(), Failed> {
    let cmd = example(python, "numpy_faults.py");
    let started = std::time::Instant::now();
    let o = crosscheck(
        &["run", "--backend-cmd", &cmd, "--backend", "numpy-faults"],
        &[("CROSSCHECK_TIMEOUT_S", "4")],
        None,
    );
    let t = text(&o);
    check(o.status.code() == Some(1), "exit code 1 expected", &t)?;
    let failing: Vec<&str> = t
        .lines()
        .filter_map(|l| l.strip_prefix("  repro: crosscheck repro "))
        .collect();
    check(
        failing.len() == 3,
        "exactly the three planted faults fail",
        &t,
    )?;
    // Each failing case is its FAIL lines followed by its repro line.
    let mut blocks: Vec<String> = Vec::new();
    let mut block = String::new();
    for line in t
        .lines()
        .skip_while(|l| !l.starts_with("FAIL matmul/np"))
        .skip(1)
    {
        block.push_str(line);
        block.push('\n');
        if line.trim().starts_with("repro:") {
            blocks.push(std::mem::take(&mut block));
        }
    }
    for (case, why) in [
        (CRASH_CASE, "exited with status 3"),
        (CRASH_CASE, "simulated crash"),
        (HANG_CASE, "timed out after 4s"),
        (WRONG_DTYPE_CASE, "dtype F64"),
    ] {
        let found = blocks.iter().any(|b| b.contains(case) && b.contains(why));
        check(found, &format!("{case} should fail with `{why}`"), &t)?;
    }
    check(
        started.elapsed().as_secs() < 60,
        "the run went on after the hang",
        &t,
    )
}

fn unusable_commands_are_named(_python: &Path) -> Result<(), Failed> {
    for (command, why) in [
        ("exit 7", "exited with status 7"),
        ("echo not-a-frame; cat >/dev/null", "answered the handshake"),
        ("definitely-not-a-command-xyz", "ended during the handshake"),
    ] {
        let o = crosscheck(
            &[
                "run",
                "--backend-cmd",
                command,
                "--backend",
                "cpu",
                "--op",
                "matmul",
                "--cases",
                "0",
                "--kernel",
                "naive",
                "--precision",
                "f32",
            ],
            &[],
            None,
        );
        let t = text(&o);
        check(
            o.status.code() == Some(1),
            &format!("`{command}` must fail the run"),
            &t,
        )?;
        check(
            t.contains(why) && t.contains("could not be started"),
            &format!("`{command}`: `{why}`"),
            &t,
        )?;
    }
    Ok(())
}

fn configuration_file_declares_backends(python: &Path) -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("crosscheck-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let command = example(python, "numpy_kernels.py");
    std::fs::write(
        dir.join("crosscheck.toml"),
        format!("[[backend]]\nname = \"numpy-ref\"\ncommand = '{command}'\n"),
    )?;
    let o = crosscheck(&["list"], &[], Some(&dir));
    let t = text(&o);
    std::fs::remove_dir_all(&dir)?;
    check(o.status.code() == Some(0), "list exits 0", &t)?;
    check(
        t.contains("numpy-ref") && t.contains("attention/np") && t.contains("acc f32"),
        "the declared kernels are listed",
        &t,
    )
}

const CAPTURE: &str = r#"
import sys, numpy as np
from crosscheck_backend import Problem, capture
rng = np.random.default_rng(1)
a = rng.standard_normal((2, 5, 7)).astype(np.float32)
b = rng.standard_normal((2, 7, 3)).astype(np.float32)
c = np.matmul(a, b)
p = Problem.matmul(batch=2, m=5, n=3, k=7)
capture(p, [a, b], c, sys.argv[1] + "/good.safetensors", contract={"accumulator": "f32"})
bad = c.copy(); bad[1, 4, 2] += 0.5
capture(p, [a, b], bad, sys.argv[1] + "/bad.safetensors")
# A problem that disagrees with its tensors: n = 4 in the metadata, B and C with 3 columns.
import re
good = open(sys.argv[1] + "/good.safetensors", "rb").read()
wrong, count = re.subn(rb'(\\"n\\":\s*)3', rb"\g<1>4", good, count=1)
assert count == 1, good[:400]
open(sys.argv[1] + "/wrong.safetensors", "wb").write(wrong)
"#;

fn captured_cases_are_judged(python: &Path) -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("crosscheck-judge-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let made = Command::new(python)
        .args(["-c", CAPTURE])
        .arg(&dir)
        .env("PYTHONPATH", root().join("python"))
        .output()?;
    check(
        made.status.success(),
        "capture writes the files",
        &text(&made),
    )?;
    let judge = |name: &str| {
        let o = crosscheck(&["judge", dir.join(name).to_str().unwrap()], &[], None);
        (o.status.code(), text(&o))
    };
    let (code, t) = judge("good.safetensors");
    check(
        code == Some(0) && t.contains("PASS"),
        "a correct capture passes",
        &t,
    )?;
    let (code, t) = judge("bad.safetensors");
    check(
        code == Some(1) && t.contains("C[1,4,2]"),
        "a wrong element is named",
        &t,
    )?;
    let (code, t) = judge("wrong.safetensors");
    check(
        code == Some(2) && t.contains("shape"),
        "a wrong shape is a clear error",
        &t,
    )?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The MoE ops over the protocol: numpy's grouped GEMMs and routed combination pass in every
/// precision, returning the rows no expert owns as they received them in `out` when the problem
/// says to leave them untouched; the twin that zeroes them fails with exactly that, shrunk.
fn moe_kernels_keep_untouched_rows(python: &Path) -> Result<(), Failed> {
    let cmd = example(python, "numpy_moe.py");
    let o = crosscheck(
        &["run", "--backend-cmd", &cmd, "--backend", "numpy-moe"],
        &[],
        None,
    );
    let t = text(&o);
    check(o.status.code() == Some(1), "exit code 1 expected", &t)?;
    for row in ["moe_contiguous/np ", "moe_masked/np ", "moe_routed/np "] {
        let line = t.lines().find(|l| l.starts_with(row)).unwrap_or("");
        check(
            line.matches("PASS").count() == 3 && !line.contains("FAIL"),
            &format!("{row} passes in f32, f16 and bf16"),
            &t,
        )?;
    }
    check(
        t.lines()
            .any(|l| l.starts_with("moe_contiguous/np_writes_padding") && l.contains("FAIL")),
        "the twin that zeroes untouched rows fails",
        &t,
    )?;
    check(
        t.contains("written that must be left untouched") && t.contains("shrunk to "),
        "it fails as written where untouched, with a shrunk case",
        &t,
    )
}

type Check = fn(&Path) -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let checks: [(&str, Check); 8] = [
        ("adapter_unit_tests", adapter_unit_tests),
        ("correct_numpy_kernels_pass", correct_numpy_kernels_pass),
        (
            "planted_bugs_fail_with_a_replayable_id",
            planted_bugs_fail_with_a_replayable_id,
        ),
        ("faults_fail_only_their_cases", faults_fail_only_their_cases),
        ("unusable_commands_are_named", unusable_commands_are_named),
        (
            "configuration_file_declares_backends",
            configuration_file_declares_backends,
        ),
        ("captured_cases_are_judged", captured_cases_are_judged),
        (
            "moe_kernels_keep_untouched_rows",
            moe_kernels_keep_untouched_rows,
        ),
    ];
    let python = python();
    let required = std::env::var_os(REQUIRE_PYTHON).is_some_and(|v| !v.is_empty() && v != "0");
    let trials = checks
        .into_iter()
        .map(|(name, run)| {
            let python = python.clone();
            Trial::ignorable_test(name, move || match python {
                Ok(p) => run(&p).map(|()| Completion::Completed),
                Err(why) if required => Err(format!("{REQUIRE_PYTHON} is set but {why}").into()),
                Err(why) => Ok(Completion::ignored_with(why)),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
