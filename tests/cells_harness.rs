//! `crosscheck::cells`, the one-test-per-cell harness: a broken backend's cell fails with shrunk
//! cases and replay lines that re-run them, a replayed id describes the failure, a variant that
//! cannot run and a missing API's cells are ignored with the reason, and a process backend that
//! did not start fails.

use crosscheck::backends::repro_command;
use std::sync::Arc;
use std::time::Duration;

use crosscheck::Case;
use crosscheck::cells::{self, CellTest, Completion, Options};
use crosscheck::testing::SwappedB;
use crosscheck_kernels::{CpuBackend, MissingApi};
use crosscheck_spec::{Backend, Precision, Problem};

/// The CPU backend reading matmul's B in the wrong layout.
fn swapped() -> Arc<dyn Backend> {
    Arc::new(SwappedB {
        inner: CpuBackend,
        name: "cpu-swapped-b",
    })
}

/// The test named `name` among `tests`.
fn take(tests: Vec<CellTest>, name: &str) -> CellTest {
    let names: Vec<String> = tests.iter().map(|t| t.name().to_string()).collect();
    tests
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no test {name} among {names:?}"))
}

/// The ids on the lines of `message` that start with `label`.
fn ids_after(message: &str, label: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|l| l.strip_prefix(label))
        .map(|rest| rest.trim().to_string())
        .collect()
}

#[test]
fn a_broken_cell_fails_with_shrunk_cases_and_replay_lines_that_reproduce_them() {
    let backend = swapped();
    let options = Options {
        shrink_budget: Some(Duration::from_secs(20)),
        ..Options::default()
    };
    let test = take(
        cells::cell_tests(std::slice::from_ref(&backend), &options),
        "matmul/naive::cpu-swapped-b::f32",
    );
    let failed = match test.run() {
        Err(failed) => failed,
        Ok(_) => panic!("the swapped B passed"),
    };
    let message = failed
        .message()
        .expect("a failing cell says why")
        .to_string();
    eprintln!("{message}");

    let shrunk = ids_after(&message, "shrunk   ");
    assert!(!shrunk.is_empty(), "nothing shrunk:\n{message}");
    let originals = ids_after(&message, "case     ");
    for id in &shrunk {
        let small: Case = id.parse().expect("a shrunk id parses");
        let Problem::Matmul(p) = small.problem else {
            unreachable!()
        };
        // A transposed read of B needs n ≥ 2 and k ≥ 2 to show: the greedy pass gets there.
        assert_eq!((p.batch, p.m, p.n, p.k), (1, 1, 2, 2), "not shrunk: {id}");
        assert!(!originals.contains(id), "{id} is one of the planned cases");
    }
    // Each listed case has a replay line through this test target, with the shrunk id when
    // there is one; no CLI line, since the CLI cannot start this backend.
    let replays = ids_after(&message, "replay   ");
    assert!(
        replays
            .iter()
            .any(|l| l.starts_with(&format!("CROSSCHECK_REPRO={} cargo test", shrunk[0]))),
        "no replay of {}:\n{message}",
        shrunk[0]
    );
    assert!(
        replays
            .iter()
            .all(|l| l.contains(" --test cells_harness -- ")
                && l.ends_with(" matmul/naive::cpu-swapped-b::f32")),
        "{message}"
    );
    assert!(!message.contains("crosscheck repro"), "{message}");

    // The replay: `repro` describes the shrunk case, as failing.
    let description = cells::repro(&backend, &shrunk[0]).expect_err("the shrunk case fails");
    assert!(
        description.starts_with(&format!("case     {}\nverdict  FAIL", shrunk[0])),
        "{description}"
    );
    assert!(description.contains("worst elements:"), "{description}");
    // ... and so does the test target's single test under CROSSCHECK_REPRO, named after the cell.
    let replay = cells::cell_tests(
        &[backend],
        &Options {
            repro: Some(shrunk[0].clone()),
            ..Options::default()
        },
    );
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].name(), "matmul/naive::cpu-swapped-b::f32");
    let failed = match replay.into_iter().next().unwrap().run() {
        Err(failed) => failed,
        Ok(_) => panic!("the replayed case passed"),
    };
    // The same description, but for the time the backend took.
    let without_time = |text: &str| text.split("time     ").next().unwrap().to_string();
    assert_eq!(
        without_time(failed.message().unwrap()),
        without_time(&description)
    );
}

#[test]
fn replays_name_their_backend_and_a_well_formed_id() {
    let backend = swapped();
    let err = cells::repro(&backend, "matmul.naive:cpu-swapped-b:f32").unwrap_err();
    assert!(err.contains("should have 6 fields"), "{err}");
    let cpu_id = "matmul.naive:cpu:f32:b1m7n5k3.cr:exact:0x5eee";
    let err = cells::repro(&backend, cpu_id).unwrap_err();
    assert!(err.contains("is for backend `cpu`"), "{err}");
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let passed = cells::repro(&cpu, cpu_id).expect("the CPU passes");
    assert!(passed.contains("verdict  PASS"), "{passed}");
    // Under CROSSCHECK_REPRO, a case of a backend that is not there fails, saying which are.
    let replay = cells::cell_tests(
        &[cpu],
        &Options {
            repro: Some("matmul.naive:elsewhere:f32:b1m7n5k3.cr:exact:0x5eee".into()),
            ..Options::default()
        },
    );
    let Err(failed) = replay.into_iter().next().unwrap().run() else {
        panic!("a case of a missing backend passed");
    };
    let message = failed.message().unwrap();
    assert!(
        message.contains("no backend named `elsewhere` here (backends: cpu)"),
        "{message}"
    );
}

/// The CPU backend with its f16 variants listed as unavailable.
fn no_f16() -> Arc<dyn Backend> {
    Arc::new(crosscheck::testing::Altered {
        inner: CpuBackend,
        name: "cpu-no-f16",
        declare: |v: &mut crosscheck_spec::VariantInfo| {
            if v.variant.precision == Precision::F16 {
                v.unavailable = Some("no f16 on this test device".into());
            }
        },
        after: crosscheck::testing::as_computed,
    })
}

#[test]
fn a_variant_that_cannot_run_is_an_ignored_test_with_the_reason() {
    let backend = no_f16();
    let tests = cells::cell_tests(&[backend], &Options::default());
    let test = take(tests, "matmul/tiled::cpu-no-f16::f16");
    match test.run() {
        Ok(Completion::Ignored { reason }) => {
            assert_eq!(reason.as_deref(), Some("no f16 on this test device"));
        }
        Ok(Completion::Completed) => panic!("an unavailable variant ran"),
        Err(e) => panic!("an unavailable variant failed: {e:?}"),
    }
}

#[test]
fn a_missing_api_ignores_every_cell_it_would_have_and_a_process_that_did_not_start_fails() {
    let missing = [
        MissingApi {
            backend: "wgpu-testapi".into(),
            api: "testapi",
            reason: "no testapi adapter found".into(),
            hint: "install one".into(),
        },
        MissingApi {
            backend: "my-kernels".into(),
            api: crosscheck::backends::PROCESS_API,
            reason: "exited before the handshake".into(),
            hint: "run it by hand".into(),
        },
    ];
    let tests = cells::missing_tests(&missing);
    let names: Vec<String> = tests.iter().map(|t| t.name().to_string()).collect();
    // The wgpu kernels in every variant: the same cells a wgpu backend lists.
    let expected = crosscheck_kernels::WgpuBackend::kernel_variants().len();
    assert_eq!(names.len(), expected + 1, "{names:?}");
    assert!(names.contains(&"matmul/tiled::wgpu-testapi::f16n".to_string()));
    assert!(names.contains(&"qmatmul/q4_0::wgpu-testapi::f32".to_string()));
    assert_eq!(names.last().unwrap(), "my-kernels::start");
    for test in tests {
        let name = test.name().to_string();
        match test.run() {
            Ok(Completion::Ignored { reason }) => assert_eq!(
                reason.as_deref(),
                Some("wgpu-testapi is missing: no testapi adapter found (install one)"),
                "{name}"
            ),
            Err(failed) => {
                assert_eq!(name, "my-kernels::start");
                assert!(
                    failed
                        .message()
                        .unwrap()
                        .contains("exited before the handshake"),
                    "{failed:?}"
                );
            }
            Ok(Completion::Completed) => panic!("{name} passed without a backend"),
        }
    }
}

#[test]
fn shrinking_a_matrix_report_shows_the_shrunk_case_under_the_failure_it_came_from() {
    use crosscheck::run::shrink::shrink_failures;
    use crosscheck::run::{CellStatus, Plan, run_matrix};

    let backends = [swapped()];
    let only =
        |key: &crosscheck::run::CellKey| cells::key_name(key) == "matmul/naive::cpu-swapped-b::f32";
    let mut report = run_matrix(&backends, &Plan::default(), &only, &());
    shrink_failures(&mut report, &backends, Duration::from_secs(20));
    let Some((_, CellStatus::Fail { shrunk, .. })) = report.cells.first() else {
        panic!("the swapped B passed: {:?}", report.cells);
    };
    assert!(!shrunk.is_empty());
    let record = crosscheck::report::RunRecord::of_report(&report, &Plan::default());
    let table = crosscheck::report::render_matrix(&record);
    let first = &shrunk[0];
    assert!(
        table.contains(&format!(
            "  repro: {}\n    shrunk to {}\n",
            repro_command(&first.original.id()),
            first.case
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!("    repro: {}\n", repro_command(&first.case.id()))),
        "{table}"
    );
}
