//! Test targets (`harness = false`) whose tests need a backend: a test of a backend this machine
//! lacks is reported as ignored, with the reason, instead of passing without having run.
//!
//! ```ignore
//! // tests/matmul.rs, with `harness = false` in its [[test]] entry
//! use crosscheck::testing::Suite;
//!
//! fn main() {
//!     let mut suite = Suite::new();
//!     for api in ["cpu", "vulkan", "gl"] {
//!         suite.on_backend(format!("exact_tier_{api}"), api, exact_tier);
//!     }
//!     suite.test("required_backends_are_present", required_backends_are_present);
//!     suite.run_and_exit()
//! }
//! ```
//!
//! A test body is a closure that panics on failure, as a `#[test]` function does (the panic's
//! message and location are printed once, with the failures at the end). The backends
//! are detected ([`registry`]) while the tests are built, so a test whose backend is missing is
//! flagged ignored when it is listed: `cargo test` prints it as `ignored` and nextest counts it
//! as skipped. libtest prints no reason for such a test, so the run ends with
//! `ignored, and why:` and one line per reason, naming each missing backend and how to install
//! it. When `CROSSCHECK_REQUIRE` lists the missing API or backend, the test is not ignored but
//! fails with the reason. Run with `--include-ignored`, an ignored test prints its reason itself.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

#[cfg(feature = "wgpu")]
use crosscheck_kernels::WgpuBackend;
use crosscheck_spec::Backend;
use libtest_mimic::{Arguments, Completion, Conclusion, Failed, FormatSetting, Trial};

use crate::backends::{REQUIRE_VAR, registry, required_names};
use crate::run::isolate::isolated;

/// Why a test does not run here: its backend is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What is missing and how to install it, e.g. `wgpu-vulkan is missing: no vulkan adapter
    /// found (install a Vulkan driver; ...)`.
    pub reason: String,
    /// The `CROSSCHECK_REQUIRE` entry that names the missing backend, if one does: the test
    /// then fails with the reason instead of being ignored.
    pub required: Option<String>,
}

impl Skip {
    /// A skip for `reason`, required when `CROSSCHECK_REQUIRE` lists any of `names` (an API
    /// such as `vulkan`, or a backend name such as `wgpu-vulkan`).
    pub fn new(reason: impl Into<String>, names: &[&str]) -> Skip {
        Skip {
            reason: reason.into(),
            required: required_names()
                .into_iter()
                .find(|wanted| names.contains(&wanted.as_str())),
        }
    }

    /// Whether `CROSSCHECK_REQUIRE` makes this skip a failure.
    pub fn is_required(&self) -> bool {
        self.required.is_some()
    }
}

/// The reason, or, when the backend is required, `CROSSCHECK_REQUIRE lists ..., but` the reason.
impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.required {
            Some(wanted) => write!(f, "{REQUIRE_VAR} lists `{wanted}`, but {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// The backend of API `api` (`cpu`, `vulkan`, `gl`, `metal`, `dx12`) or named `api`, or why it
/// is missing: the registry's reason and install hint, or `no <api> adapter on this platform`
/// for an API this platform is not expected to have.
pub fn backend(api: &str) -> Result<Arc<dyn Backend>, Skip> {
    let reg = registry();
    reg.all
        .iter()
        .find(|b| b.device().api == api || b.name() == api)
        .cloned()
        .ok_or_else(|| missing(api))
}

/// The wgpu backend of API `api` itself (for tests that patch its shaders), or why it is
/// missing (see [`backend`]).
#[cfg(feature = "wgpu")]
pub fn wgpu_backend(api: &str) -> Result<WgpuBackend, Skip> {
    registry().wgpu(api).cloned().ok_or_else(|| missing(api))
}

/// Why the backend of API `api` is missing.
fn missing(api: &str) -> Skip {
    match registry()
        .missing
        .iter()
        .find(|m| m.api == api || m.backend == api)
    {
        Some(m) => Skip::new(
            format!("{} is missing: {} ({})", m.backend, m.reason, m.hint),
            &[m.api, m.backend.as_str()],
        ),
        None => Skip::new(
            format!("no {api} adapter on this platform"),
            &[api, format!("wgpu-{api}").as_str()],
        ),
    }
}

/// Runs a test body: a panic becomes the test's failure message, with the panic's location,
/// printed once in the failures at the end (as libtest does) rather than also on stderr.
fn checked(body: impl FnOnce()) -> Result<(), Failed> {
    isolated(body).map_err(|panic| format!("test panicked: {panic}").into())
}

/// The tests of a `harness = false` test target, each either runnable or missing its backend.
#[derive(Default)]
pub struct Suite {
    tests: Vec<(Trial, Option<Skip>)>,
}

impl Suite {
    /// No tests yet.
    pub fn new() -> Suite {
        Suite::default()
    }

    /// A test that needs no particular backend: `body` panics on failure.
    pub fn test(
        &mut self,
        name: impl Into<String>,
        body: impl FnOnce() + Send + 'static,
    ) -> &mut Suite {
        self.tests
            .push((Trial::test(name, move || checked(body)), None));
        self
    }

    /// A test that runs `body` with what `need` holds, or, when it holds a [`Skip`], is ignored
    /// with the reason (flagged when listed), or fails with it when the skip is required.
    pub fn needing<T: Send + 'static>(
        &mut self,
        name: impl Into<String>,
        need: Result<T, Skip>,
        body: impl FnOnce(T) + Send + 'static,
    ) -> &mut Suite {
        let (trial, skip) = match need {
            Ok(value) => (
                Trial::test(name, move || checked(move || body(value))),
                None,
            ),
            Err(skip) => {
                let outcome = skip.clone();
                let trial = Trial::ignorable_test(name, move || match outcome.required {
                    Some(_) => Err(outcome.to_string().into()),
                    None => Ok(Completion::ignored_with(outcome.reason)),
                })
                .with_ignored_flag(!skip.is_required());
                (trial, Some(skip))
            }
        };
        self.tests.push((trial, skip));
        self
    }

    /// A test of the backend of API `api` (see [`backend`]): `body` gets the backend, or the
    /// test is ignored (or, when required, fails) with the reason it is missing.
    pub fn on_backend(
        &mut self,
        name: impl Into<String>,
        api: &str,
        body: impl FnOnce(Arc<dyn Backend>) + Send + 'static,
    ) -> &mut Suite {
        self.needing(name, backend(api), body)
    }

    /// Runs the tests as libtest's arguments `args` select them, then, unless listing or
    /// writing JSON, prints `ignored, and why:` with one line per reason a selected test was
    /// ignored for without running: how many tests, `×`, the reason.
    pub fn run(self, args: &Arguments) -> Conclusion {
        let tests = self
            .tests
            .into_iter()
            .map(|(trial, skip)| (trial, skip.map(|s| s.reason)))
            .collect();
        run_reporting_ignored(args, tests, "ignored, and why:")
    }

    /// Runs the tests with the process's arguments ([`Suite::run`]) and exits: 101 if any
    /// failed, else 0. The `main` of a `harness = false` test target.
    ///
    /// As with libtest, several filters select the tests that match any of them (libtest-mimic
    /// takes one): `cargo test --test matmul -- cpu required` runs the CPU tests and
    /// `required_backends_are_present` (the tests the filters leave out are then not counted
    /// as filtered out).
    pub fn run_and_exit(mut self) -> ! {
        let (args, filters) = arguments(std::env::args_os().collect());
        if filters.len() > 1 {
            self.tests.retain(|(trial, _)| {
                filters.iter().any(|f| {
                    if args.exact {
                        trial.name() == f
                    } else {
                        trial.name().contains(f.as_str())
                    }
                })
            });
        }
        self.run(&args).exit()
    }
}

/// libtest's options that take a value.
const VALUED_OPTIONS: [&str; 6] = [
    "-Z",
    "--test-threads",
    "--logfile",
    "--skip",
    "--color",
    "--format",
];

/// The libtest arguments of a command line (`raw[0]` is the program) and its filters. One
/// filter is left in [`Arguments::filter`]; several are returned for the caller to apply, with
/// `filter` empty.
fn arguments(raw: Vec<std::ffi::OsString>) -> (Arguments, Vec<String>) {
    let mut raw = raw.into_iter();
    let mut options: Vec<std::ffi::OsString> = raw.next().into_iter().collect();
    let mut filters = Vec::new();
    let mut only_filters = false;
    while let Some(arg) = raw.next() {
        let text = arg.to_string_lossy().into_owned();
        if only_filters || !text.starts_with('-') || text == "-" {
            filters.push(text);
        } else if text == "--" {
            only_filters = true;
        } else {
            let valued = VALUED_OPTIONS.contains(&text.as_str());
            options.push(arg);
            if valued && let Some(value) = raw.next() {
                options.push(value);
            }
        }
    }
    let mut args = Arguments::from_iter(options);
    if filters.len() == 1 {
        args.filter = filters.pop();
    }
    (args, filters)
}

/// Runs `tests` (each with the reason it is ignored before running, if it is) and then, unless
/// listing or writing JSON, prints `heading` with one line per reason a selected test was
/// ignored for: how many tests, `×`, the reason (libtest prints no reason for a test ignored
/// before it runs).
pub fn run_reporting_ignored(
    args: &Arguments,
    tests: Vec<(Trial, Option<String>)>,
    heading: &str,
) -> Conclusion {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (trial, reason) in &tests {
        if let Some(reason) = reason
            && !args.is_filtered_out(trial)
            && args.is_ignored(trial)
        {
            *reasons.entry(reason.clone()).or_default() += 1;
        }
    }
    let trials = tests.into_iter().map(|(trial, _)| trial).collect();
    let conclusion = libtest_mimic::run(args, trials);
    let json = matches!(args.format, Some(FormatSetting::Json));
    if !args.list && !json && !reasons.is_empty() {
        println!("{heading}");
        for (reason, count) in &reasons {
            println!("  {count:>3} × {reason}");
        }
        println!();
    }
    conclusion
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> (Arguments, Vec<String>) {
        arguments(line.split(' ').map(Into::into).collect())
    }

    #[test]
    fn one_filter_goes_to_libtest_and_several_come_back() {
        let (args, filters) = parse("t --test-threads 1 cpu --skip gl");
        assert_eq!(args.filter.as_deref(), Some("cpu"));
        assert_eq!(args.test_threads, Some(1));
        assert_eq!(args.skip, ["gl"]);
        assert!(filters.is_empty());
        let (args, filters) = parse("t cpu --exact --format terse required -- --odd");
        assert_eq!(args.filter, None);
        assert!(args.exact);
        assert!(matches!(args.format, Some(FormatSetting::Terse)));
        assert_eq!(filters, ["cpu", "required", "--odd"]);
    }
}
