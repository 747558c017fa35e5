//! Every matrix cell as its own test, for `cargo test` and nextest: one
//! [`libtest_mimic::Trial`] per op × kernel × backend × variant, for this crate's backends and
//! for a downstream crate's own [`Backend`].
//!
//! A test target with `harness = false` and one line of code runs them:
//!
//! ```toml
//! [[test]]
//! name = "cells"
//! harness = false
//! ```
//!
//! ```ignore
//! // tests/cells.rs
//! crosscheck::cell_tests!(my_crate::MyBackend);
//! ```
//!
//! Each test is named `op/kernel::backend::variant`, e.g. `matmul/tiled::cpu::f32` or
//! `attention/flash::wgpu-vulkan::f16n` (see [`test_name`]), so `cargo test --test cells -- cpu`
//! runs the CPU's cells, `-- matmul/` the matmul rows and `-- --exact <name>` one cell. A test
//! runs its cell's planned cases ([`Plan::cases`]) as `crosscheck run` does and
//!
//! - passes when every case passes; a cell with a portability finding passes too, and prints it;
//! - is ignored, with the reason, when the cell cannot run here (a variant the adapter lacks, or
//!   every case skipped), and so is every cell of a wgpu API this machine should have but does
//!   not ([`missing_trials`]) — unless `CROSSCHECK_REQUIRE` lists that API or backend: then
//!   those cells fail with the reason;
//! - fails with up to [`FAILURES_LISTED`] failing cases, smallest first: each with its summary,
//!   the smaller case it shrinks to (the [`FAILURES_TO_SHRINK`] smallest are shrunk, within
//!   `CROSSCHECK_SHRINK_S` seconds per cell, default 20) and the lines that replay it:
//!   `CROSSCHECK_REPRO=<id> cargo test --release -p <package> --test <target> -- <name>` and, for a
//!   backend the `crosscheck` CLI can start, `crosscheck repro <id>`.
//!
//! With `CROSSCHECK_REPRO=<case id>` set, the target runs that one case instead, as the single
//! test named after its cell, and prints its description: verdict, statistics and worst
//! elements.
//!
//! The verdict of an n/a cell is reported to libtest as "ignored" at run time; nextest, which
//! judges a test by its exit status alone, counts such a test as passed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck_kernels::MissingApi;
use crosscheck_spec::{Backend, Op, Variant};

use crate::backends::{PROCESS_API, REQUIRE_VAR, registry, repro_command, required_names};
use crate::case::Case;
use crate::report::case::{describe_case, summary};
use crate::run::matrix::{CellKey, CellSlot, CellStatus, cell_slots, run_cell};
use crate::run::shrink::{FAILURES_TO_SHRINK, Shrunk, shrink_budget, shrink_cases};
use crate::run::{CaseResult, Plan, run_case};

/// The libtest-mimic types the cell tests are made of, for callers that run or inspect them.
pub use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Environment variable with a case id: the test target then runs that one case.
pub const REPRO_VAR: &str = "CROSSCHECK_REPRO";

/// Failing cases a failing cell's message lists.
pub const FAILURES_LISTED: usize = 10;

/// The name of a cell's test: `op/kernel::backend::variant`, e.g. `matmul/tiled::cpu::f32`.
/// Stable: it changes only if a kernel, backend or variant is renamed.
pub fn test_name(op: Op, kernel: &str, backend: &str, variant: Variant) -> String {
    format!("{op}/{kernel}::{backend}::{variant}")
}

/// The test name of the cell `key` (see [`test_name`]).
pub fn key_name(key: &CellKey) -> String {
    test_name(key.op, &key.kernel, &key.backend, key.variant)
}

/// The test name of the cell `case` belongs to (see [`test_name`]).
pub fn case_test_name(case: &Case) -> String {
    test_name(case.op(), &case.kernel, &case.backend, case.variant)
}

/// `backend` shared as the cell functions take it (for [`cell_tests!`](crate::cell_tests)).
pub fn shared<B: Backend + 'static>(backend: B) -> Arc<dyn Backend> {
    Arc::new(backend)
}

/// How the cell tests are built and what their replay lines say.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The cases of each cell.
    pub plan: Plan,
    /// A case id to run alone instead of the cells (what [`REPRO_VAR`] holds; see
    /// [`Options::from_env`]).
    pub repro: Option<String>,
    /// The cargo package the replay lines name with `-p` (default: `CARGO_PKG_NAME`, which
    /// cargo and nextest set when they run a test; left out when unknown).
    pub package: Option<String>,
    /// The test target the replay lines name with `--test` (default: the name of the running
    /// executable without cargo's hash suffix).
    pub test_target: Option<String>,
    /// Commands that start process backends, by backend name: a failing case of one of them
    /// also gets a `crosscheck repro <id> --backend-cmd '<command>'` line.
    pub backend_cmds: BTreeMap<String, String>,
    /// Shrinking budget of one failing cell (default: `CROSSCHECK_SHRINK_S`, or 20 s).
    pub shrink_budget: Option<Duration>,
}

impl Options {
    /// The default options with `repro` taken from [`REPRO_VAR`].
    pub fn from_env() -> Options {
        Options {
            repro: std::env::var(REPRO_VAR)
                .ok()
                .filter(|id| !id.trim().is_empty()),
            ..Options::default()
        }
    }
}

/// One cell's test before it becomes a [`Trial`]: its name, and the run that decides it.
pub struct CellTest {
    name: String,
    run: Box<dyn FnOnce() -> Result<Completion, Failed> + Send>,
    ignored: Option<String>,
}

impl CellTest {
    fn new(
        name: String,
        run: impl FnOnce() -> Result<Completion, Failed> + Send + 'static,
    ) -> CellTest {
        CellTest {
            name,
            run: Box::new(run),
            ignored: None,
        }
    }

    /// A test of a cell that is known, before anything runs, not to be runnable here (a
    /// missing backend, a variant the adapter lacks): ignored when listed, so that nextest and
    /// its JUnit report count it as skipped rather than passed.
    fn ignored(name: String, reason: String) -> CellTest {
        let why = reason.clone();
        CellTest {
            ignored: Some(reason),
            ..CellTest::new(name, move || Ok(Completion::ignored_with(why)))
        }
    }

    /// Why the test is ignored before it runs, if it is.
    pub fn ignored_reason(&self) -> Option<&str> {
        self.ignored.as_deref()
    }

    /// The test's name (see [`test_name`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs it: `Ok(Completion::Completed)` for a pass, `Ok(Completion::Ignored)` with the
    /// reason for a cell that cannot run, `Err` with the failing cases for a failure.
    pub fn run(self) -> Result<Completion, Failed> {
        (self.run)()
    }

    /// The libtest trial (flagged ignored when the reason is known before it runs).
    pub fn into_trial(self) -> Trial {
        let ignored = self.ignored.is_some();
        Trial::ignorable_test(self.name, self.run).with_ignored_flag(ignored)
    }
}

/// One trial per cell of `backends` × their kernels × their variants under `plan`, or, when
/// [`REPRO_VAR`] is set, the one trial that runs that case.
pub fn trials(backends: &[Arc<dyn Backend>], plan: &Plan) -> Vec<Trial> {
    let options = Options {
        plan: *plan,
        ..Options::from_env()
    };
    trials_with(backends, &options)
}

/// [`trials`] with every option explicit (`options.repro` instead of the environment).
pub fn trials_with(backends: &[Arc<dyn Backend>], options: &Options) -> Vec<Trial> {
    cell_tests(backends, options)
        .into_iter()
        .map(CellTest::into_trial)
        .collect()
}

/// The tests of [`trials_with`], before they become trials.
pub fn cell_tests(backends: &[Arc<dyn Backend>], options: &Options) -> Vec<CellTest> {
    build(backends, &[], options, false)
}

/// For every missing wgpu API, an ignored trial per cell its backend would have had (or a
/// failing one when `CROSSCHECK_REQUIRE` lists the API or backend); for every process backend
/// that could not be started, a failing trial `<backend>::start`.
pub fn missing_trials(missing: &[MissingApi]) -> Vec<Trial> {
    missing_tests(missing)
        .into_iter()
        .map(CellTest::into_trial)
        .collect()
}

/// The tests of [`missing_trials`], before they become trials.
pub fn missing_tests(missing: &[MissingApi]) -> Vec<CellTest> {
    let required = required_names();
    let mut tests = Vec::new();
    for m in missing {
        if m.api == PROCESS_API {
            let why = format!(
                "process backend `{}` could not be started: {} ({})",
                m.backend, m.reason, m.hint
            );
            tests.push(CellTest::new(format!("{}::start", m.backend), move || {
                Err(why.into())
            }));
            continue;
        }
        let reason = format!("{} is missing: {} ({})", m.backend, m.reason, m.hint);
        let wanted = required
            .iter()
            .find(|r| **r == m.api || **r == m.backend)
            .cloned();
        for (op, kernel, variant) in wgpu_cells() {
            let reason = reason.clone();
            let wanted = wanted.clone();
            let name = test_name(op, kernel, &m.backend, variant);
            tests.push(match wanted {
                Some(w) => CellTest::new(name, move || {
                    Err(format!("{REQUIRE_VAR} lists `{w}`, but {reason}").into())
                }),
                None => CellTest::ignored(name, reason),
            });
        }
    }
    tests
}

/// Runs the case `id` on `backend` (whose name the id must carry) and describes it as
/// `crosscheck repro` does. `Ok` with the description when it passes or cannot run here (then
/// the verdict says n/a and why); `Err` for a malformed id, a kernel or variant the backend
/// does not have, or a failing case (with its description).
pub fn repro(backend: &Arc<dyn Backend>, id: &str) -> Result<String, String> {
    let case: Case = id
        .parse()
        .map_err(|e: crate::case::CaseIdError| e.to_string())?;
    if case.backend != backend.name() {
        return Err(format!(
            "case {case} is for backend `{}`, not `{}`",
            case.backend,
            backend.name()
        ));
    }
    replay(backend, &case).map(|(text, _)| text)
}

/// Runs `case` on `backend`: its description and whether it could run, or `Err` with the
/// description of a failure (or why it is not a case of this backend).
fn replay(backend: &Arc<dyn Backend>, case: &Case) -> Result<(String, bool), String> {
    match run_case(backend, case)? {
        CaseResult::Judged { verdict, elapsed } => {
            let text = format!(
                "{}time     {:.3} ms in the backend\n",
                describe_case(case, &verdict),
                elapsed.as_secs_f64() * 1e3
            );
            if verdict.passed() {
                Ok((text, true))
            } else {
                Err(text)
            }
        }
        CaseResult::NotApplicable(reason) => {
            Ok((format!("case     {case}\nverdict  n/a: {reason}\n"), false))
        }
    }
}

/// Runs the cells of `backends` as this test target's tests, with [`Plan::default`], and
/// exits: the `main` of a downstream crate's `harness = false` test target.
pub fn main(backends: Vec<Arc<dyn Backend>>) -> ! {
    main_with(backends, Options::from_env())
}

/// [`main`] with explicit options (note [`Options::from_env`] for the repro variable).
pub fn main_with(backends: Vec<Arc<dyn Backend>>, options: Options) -> ! {
    let args = Arguments::from_args();
    exit_on_bad_repro(&options);
    run_and_exit(&args, cell_tests(&backends, &options))
}

/// Exits with an error when `options.repro` is not a case id: its test, named `repro`, would be
/// filtered out by the replay line's cell name, and the run would pass without running it.
fn exit_on_bad_repro(options: &Options) {
    if let Some(id) = &options.repro
        && let Err(e) = id.parse::<Case>()
    {
        eprintln!("error: {REPRO_VAR}={id}: {e}");
        std::process::exit(2);
    }
}

/// Runs the cells of every backend of this machine ([`registry`]: the CPU and every wgpu
/// adapter), the missing APIs' cells ignored (or failing when required, see
/// [`missing_trials`]), and exits: this crate's `tests/cells.rs`.
pub fn main_with_registry() -> ! {
    let args = Arguments::from_args();
    let options = Options::from_env();
    exit_on_bad_repro(&options);
    let reg = registry();
    let tests = build(&reg.all, &reg.missing, &options, true);
    run_and_exit(&args, tests)
}

/// Runs `tests` and exits; the end of the output says why the ignored ones were ignored
/// (libtest prints no reason for a test ignored before it runs), one line per reason.
fn run_and_exit(args: &Arguments, tests: Vec<CellTest>) -> ! {
    let tests = tests
        .into_iter()
        .map(|t| {
            let reason = t.ignored.clone();
            (t.into_trial(), reason)
        })
        .collect();
    crate::testing::run_reporting_ignored(args, tests, "ignored cells, and why:").exit()
}

/// The tests of `backends`' cells and `missing`'s, or the replay of `options.repro`; with
/// `whole_machine`, `backends` and `missing` are everything this machine has and lacks, so a
/// name `CROSSCHECK_REQUIRE` lists that is in neither fails too (a typo, or an API this platform
/// never has, is not passed over).
fn build(
    backends: &[Arc<dyn Backend>],
    missing: &[MissingApi],
    options: &Options,
    whole_machine: bool,
) -> Vec<CellTest> {
    let context = Arc::new(Context::new(options));
    if let Some(id) = &options.repro {
        return vec![repro_test(backends, missing, id)];
    }
    let mut tests: Vec<CellTest> = cell_slots(backends, &|_| true)
        .into_iter()
        .map(|slot| match slot.unavailable.clone() {
            Some(reason) => CellTest::ignored(key_name(&slot.key), reason),
            None => {
                let context = context.clone();
                CellTest::new(key_name(&slot.key), move || run_slot(slot, &context))
            }
        })
        .collect();
    tests.extend(missing_tests(missing));
    if whole_machine {
        for wanted in required_names() {
            let known = backends
                .iter()
                .any(|b| b.name() == wanted || b.device().api == wanted)
                || missing
                    .iter()
                    .any(|m| m.api == wanted || m.backend == wanted);
            if !known {
                tests.push(CellTest::new(format!("{wanted}::required"), move || {
                    Err(format!(
                        "{REQUIRE_VAR} lists `{wanted}`: no backend named or of API `{wanted}` on this machine"
                    )
                    .into())
                }));
            }
        }
    }
    tests
}

/// The single test that replays the case `id`, named after its cell so that the filter of a
/// replay line selects it.
fn repro_test(backends: &[Arc<dyn Backend>], missing: &[MissingApi], id: &str) -> CellTest {
    let case: Case = match id.parse() {
        Ok(case) => case,
        Err(e) => {
            let why = format!("{REPRO_VAR}={id}: {e}");
            return CellTest::new("repro".into(), move || Err(why.into()));
        }
    };
    let name = case_test_name(&case);
    let Some(backend) = backends.iter().find(|b| b.name() == case.backend).cloned() else {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        let mut why = format!(
            "{REPRO_VAR}={id}: no backend named `{}` here (backends: {})",
            case.backend,
            names.join(", ")
        );
        if let Some(m) = missing.iter().find(|m| m.backend == case.backend) {
            write!(why, "; it is missing: {} ({})", m.reason, m.hint).unwrap();
        }
        return CellTest::new(name, move || Err(why.into()));
    };
    CellTest::new(name, move || match replay(&backend, &case) {
        Ok((text, ran)) => {
            println!("\n{text}");
            if ran {
                Ok(Completion::Completed)
            } else {
                Ok(Completion::ignored_with(format!("{case} cannot run here")))
            }
        }
        Err(text) => Err(text.trim_end().into()),
    })
}

/// What every cell's test shares: the plan, the shrinking budget and how to write replay lines.
struct Context {
    plan: Plan,
    shrink_budget: Duration,
    /// `cargo test ...` up to the `--`, or the path of this executable.
    cargo: String,
    commands: BTreeMap<String, String>,
}

impl Context {
    fn new(options: &Options) -> Context {
        let package = options
            .package
            .clone()
            .or_else(|| std::env::var("CARGO_PKG_NAME").ok());
        let target = options.test_target.clone().or_else(executable_target);
        let cargo = match target {
            Some(target) => {
                let mut line = String::from("cargo test");
                if !cfg!(debug_assertions) {
                    line.push_str(" --release");
                }
                if let Some(package) = package {
                    write!(line, " -p {package}").unwrap();
                }
                write!(line, " --test {target} --").unwrap();
                line
            }
            None => std::env::current_exe()
                .map(|p| shell_word(&p.display().to_string()))
                .unwrap_or_else(|_| "<this test executable>".into()),
        };
        Context {
            plan: options.plan,
            shrink_budget: options.shrink_budget.unwrap_or_else(shrink_budget),
            cargo,
            commands: options.backend_cmds.clone(),
        }
    }

    /// The lines that replay `case`: through this test target, and through the CLI when it can
    /// start the backend.
    fn replay_lines(&self, case: &Case) -> Vec<String> {
        let id = case.id();
        let mut lines = vec![format!(
            "{REPRO_VAR}={id} {} {}",
            self.cargo,
            case_test_name(case)
        )];
        let cli = repro_command(&id);
        let builtin = case.backend == "cpu" || case.backend.starts_with("wgpu-");
        if builtin || cli.contains("--backend-cmd") {
            lines.push(cli);
        } else if let Some(command) = self.commands.get(&case.backend) {
            lines.push(format!(
                "crosscheck repro {id} --backend-cmd {}",
                shell_word(command)
            ));
        }
        lines
    }
}

/// The test target of this executable: its file name without cargo's `-<16 hex digits>`.
fn executable_target() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?;
    let (name, hash) = stem.rsplit_once('-')?;
    (hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit())).then(|| name.to_string())
}

/// `text` as one shell word: as it is when that is safe, else single-quoted.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:=,@".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Runs one cell as a test.
fn run_slot(slot: CellSlot, context: &Context) -> Result<Completion, Failed> {
    if let Some(reason) = slot.unavailable {
        return Ok(Completion::ignored_with(reason));
    }
    let key = &slot.key;
    let cases = context
        .plan
        .cases(key.op, &key.backend, &key.kernel, key.variant);
    let (status, _) = run_cell(&slot.backend, &cases, &());
    match status {
        CellStatus::NotApplicable(reason) => Ok(Completion::ignored_with(reason)),
        CellStatus::Pass { .. } => Ok(Completion::Completed),
        CellStatus::Finding {
            cases, findings, ..
        } => {
            let mut text = format!(
                "\n{}: portability finding in {} of {cases} cases (not a failure):\n",
                key_name(key),
                findings.len()
            );
            for (case, finding) in findings.iter().take(3) {
                writeln!(text, "  {case}: {finding}").unwrap();
            }
            print!("{text}");
            Ok(Completion::Completed)
        }
        CellStatus::Fail {
            cases, failures, ..
        } => {
            let started = Instant::now();
            let shrunk = shrink_cases(&slot.backend, &failures, context.shrink_budget);
            let message = failure_message(cases, &failures, &shrunk, context, started.elapsed());
            Err(message.into())
        }
    }
}

/// A failing cell's message: how many cases failed and, for the smallest, summaries, shrunk
/// cases and replay lines.
fn failure_message(
    cases: usize,
    failures: &[(Case, crate::judge::Verdict)],
    shrunk: &[Shrunk],
    context: &Context,
    shrinking: Duration,
) -> String {
    let mut out = format!("{} of {cases} cases failed", failures.len());
    if failures.len() > FAILURES_LISTED {
        write!(out, " (the {FAILURES_LISTED} smallest below)").unwrap();
    }
    out.push('\n');
    for (case, verdict) in failures.iter().take(FAILURES_LISTED) {
        writeln!(
            out,
            "\ncase     {case}\n         {}",
            summary(case, verdict)
        )
        .unwrap();
        let smallest = match shrunk.iter().find(|s| s.original == *case) {
            Some(s) => {
                writeln!(
                    out,
                    "shrunk   {}\n         {}",
                    s.case,
                    summary(&s.case, &s.verdict)
                )
                .unwrap();
                &s.case
            }
            None => case,
        };
        for line in context.replay_lines(smallest) {
            writeln!(out, "replay   {line}").unwrap();
        }
    }
    let tried = failures.len().min(FAILURES_TO_SHRINK);
    write!(
        out,
        "\nshrinking: {} of the {tried} smallest failing cases shrank in {:.1} s \
         (budget {:.0} s per cell, {})",
        shrunk.len(),
        shrinking.as_secs_f64(),
        context.shrink_budget.as_secs_f64(),
        crate::run::shrink::SHRINK_VAR
    )
    .unwrap();
    out
}

/// `fn main()` of a `harness = false` test target that runs the cells of the given backends
/// (see [`crosscheck::cells`](crate::cells)), its replay lines naming the calling package:
///
/// ```ignore
/// crosscheck::cell_tests!(my_crate::MyBackend);                  // one or more backend values
/// crosscheck::cell_tests!(backends = my_crate::all_backends());  // a Vec<Arc<dyn Backend>>
/// ```
#[macro_export]
macro_rules! cell_tests {
    (backends = $backends:expr $(,)?) => {
        fn main() {
            $crate::cells::main_with(
                $backends,
                $crate::cells::Options {
                    package: ::std::option::Option::Some(::std::env!("CARGO_PKG_NAME").to_string()),
                    ..$crate::cells::Options::from_env()
                },
            )
        }
    };
    ($($backend:expr),+ $(,)?) => {
        $crate::cell_tests!(backends = ::std::vec![$($crate::cells::shared($backend)),+]);
    };
}

/// Every (op, kernel, variant) a wgpu backend lists: the cells of a missing wgpu API.
#[cfg(feature = "wgpu")]
fn wgpu_cells() -> Vec<(Op, &'static str, Variant)> {
    crosscheck_kernels::WgpuBackend::kernel_variants()
}

/// Without the `wgpu` feature no wgpu API is searched, so none is missing.
#[cfg(not(feature = "wgpu"))]
fn wgpu_cells() -> Vec<(Op, &'static str, Variant)> {
    Vec::new()
}
