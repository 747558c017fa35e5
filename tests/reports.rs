//! Reports for CI: the JSON record round-trips, JUnit has one test per cell with the failing
//! cell as a failure, Markdown carries the repro, and merge combines records into one matrix,
//! flags disagreeing verdicts and rejects what it cannot use.

use std::sync::Arc;

use crosscheck::report::merge::render_merged_text;
use crosscheck::report::record::{CellVerdict, RunContext, Selection};
use crosscheck::report::{RunRecord, merge, render_junit, render_markdown};
use crosscheck::run::{CellKey, Plan, run_matrix};
use crosscheck::testing::SwappedB;
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, Op};

/// A run of matmul/naive f32 and f16 on the CPU and on the broken copy, as a record.
fn record(machine: &str) -> RunRecord {
    let backends: Vec<Arc<dyn Backend>> = vec![
        Arc::new(CpuBackend),
        Arc::new(SwappedB {
            inner: CpuBackend,
            name: "cpu-swapped-b",
        }),
    ];
    let plan = Plan {
        random_cases: 2,
        ..Plan::default()
    };
    let filter = |k: &CellKey| {
        k.op == Op::Matmul
            && k.kernel == "naive"
            && k.variant.path == crosscheck_spec::Path::Portable
            && matches!(k.variant.label().as_str(), "f32" | "f16")
    };
    let report = run_matrix(&backends, &plan, &filter, &());
    RunRecord::new(
        &report,
        RunContext {
            plan: &plan,
            selection: Selection::default(),
            missing: &[],
            required_missing: None,
            machine_name: Some(machine.into()),
        },
    )
}

#[test]
fn the_json_record_is_complete_and_round_trips() {
    let r = record("box-a");
    assert_eq!(r.cells.len(), 4);
    assert_eq!((r.summary.pass, r.summary.fail), (2, 2));
    assert!(r.failed());
    let broken = r
        .cells
        .iter()
        .find(|c| c.backend == "cpu-swapped-b")
        .unwrap();
    assert_eq!(broken.verdict, CellVerdict::Fail);
    assert!(!broken.failures.is_empty());
    assert!(
        broken.failures[0]
            .case
            .starts_with("matmul.naive:cpu-swapped-b:")
    );
    let worst = broken.worst.as_ref().expect("a worst element");
    assert!(
        worst.ratio > 1.0 && worst.element.starts_with("C["),
        "{worst:?}"
    );
    // What the HTML page's detail needs: the repro command and worst elements of each failing
    // case, and the err/bound histogram over every judged case.
    assert!(
        broken.failures[0]
            .repro
            .as_ref()
            .unwrap()
            .contains(&broken.failures[0].case)
    );
    assert!(broken.failures[0].worst[0].element.starts_with("C["));
    let good = r.cells.iter().find(|c| c.backend == "cpu").unwrap();
    assert!(good.worst_ratio <= 1.0 && good.cases > 0 && good.wall_s > 0.0);
    assert_eq!(good.histogram.counts.iter().sum::<usize>(), good.cases);
    assert_eq!(broken.histogram.counts.iter().sum::<usize>(), broken.cases);
    let text = serde_json::to_string_pretty(&r).unwrap();
    assert_eq!(RunRecord::from_json(&text).unwrap(), r);
}

/// Every f64 in a record reads back as the same bits: serde_json's default float parser is
/// not correctly rounded (90.42225290942383 came back as 90.42225290942385), which made the
/// round trip above fail for some measured times and would make `merge` differ from its inputs.
#[test]
fn times_and_ratios_read_back_bit_for_bit() {
    let mut r = record("box-a");
    let hard = [
        90.42225290942383,
        42.215889504792884,
        19.243053591130522,
        1.580641324,
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let value = hard
            .get(i)
            .copied()
            .unwrap_or((x >> 11) as f64 / (1u64 << 53) as f64 * 100.0);
        r.elapsed_s = value;
        r.cells[0].wall_s = value / 3.0;
        let text = serde_json::to_string(&r).unwrap();
        let back = RunRecord::from_json(&text).unwrap();
        assert_eq!(back.elapsed_s.to_bits(), value.to_bits(), "{value:?}");
        assert_eq!(back.cells[0].wall_s.to_bits(), (value / 3.0).to_bits());
    }
}

#[test]
fn junit_has_a_test_per_cell_and_the_failure_with_its_repro() {
    let xml = render_junit(&record("box-a"));
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains(
            "repro: crosscheck::cells::repro(&amp;backend, &quot;matmul.naive:cpu-swapped-b:"
        ) || xml
            .contains("repro: crosscheck::cells::repro(&backend, \"matmul.naive:cpu-swapped-b:"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuites name="crosscheck" tests="4""#),
        "{xml}"
    );
}

#[test]
fn markdown_shows_the_verdict_table_and_repro_commands() {
    let md = render_markdown(&record("box-a"));
    assert!(md.contains("## crosscheck ❌ FAIL"), "{md}");
    assert!(
        md.contains("| matmul | cpu f32 | cpu f16 | cpu-swapped-b f32 |"),
        "{md}"
    );
    assert!(
        md.contains("`crosscheck::cells::repro(&backend, \"matmul.naive:cpu-swapped-b:"),
        "{md}"
    );
}

#[test]
fn merge_builds_one_matrix_and_flags_disagreeing_verdicts() {
    let a = serde_json::to_string(&record("box-a")).unwrap();
    let b = serde_json::to_string(&record("box-b")).unwrap();
    let m = merge(&[("a.json".into(), a), ("b.json".into(), b)]).unwrap();
    assert_eq!(
        m.columns,
        [
            "box-a/cpu",
            "box-a/cpu-swapped-b",
            "box-b/cpu",
            "box-b/cpu-swapped-b"
        ]
    );
    assert_eq!(m.rows.len(), 2);
    assert!(
        m.rows
            .iter()
            .all(|r| r.disagree && r.cells.iter().all(Option::is_some))
    );
    let text = render_merged_text(&m);
    assert!(text.contains("≠ matmul/naive f32"), "{text}");
    assert!(
        text.contains("box-b/cpu-swapped-b: FAIL e.g. matmul.naive:cpu-swapped-b:"),
        "{text}"
    );
    assert!(m.failed());
}

#[test]
fn merge_rejects_malformed_foreign_and_overlapping_files() {
    let good = serde_json::to_string(&record("box-a")).unwrap();
    let cases = [
        ("{not json".to_string(), "not JSON"),
        (r#"{"schema":"junit"}"#.into(), "schema is `junit`"),
        (
            good.replace("\"schema_version\":1", "\"schema_version\":9"),
            "schema version 9",
        ),
        (
            good.replace("\"cases\":", "\"cases\":\"many\",\"x\":"),
            "malformed crosscheck-run record at `cells[0].cases`",
        ),
    ];
    for (text, expected) in cases {
        let e = merge(&[("x.json".into(), text)]).unwrap_err();
        assert!(e.starts_with("x.json: ") && e.contains(expected), "{e}");
    }
    let e = merge(&[("a.json".into(), good.clone()), ("b.json".into(), good)]).unwrap_err();
    assert!(
        e.contains("in both a.json and b.json") && e.contains("--machine"),
        "{e}"
    );
    assert!(merge(&[]).is_err());
}

/// A 7-row product's first element made wrong: one planted bug in the CPU's split-K.
fn wrong_at_seven_rows(
    problem: &crosscheck_spec::Problem,
    output: &mut crosscheck_spec::OutputBuffer,
) {
    if matches!(problem, crosscheck_spec::Problem::Matmul(p) if p.m == 7) {
        output.write(0, 999.0);
    }
}

/// A failing cell keeps the launch notes of its passing cases: split-K's rows differ between
/// launches (it is not declared batch-invariant) in the large cases, which pass, while the
/// 7-row case fails.
#[test]
fn a_failing_cell_keeps_the_launch_notes_of_its_passing_cases() {
    let backends: Vec<Arc<dyn Backend>> = vec![Arc::new(crosscheck::testing::Altered {
        inner: CpuBackend,
        name: "cpu-wrong-at-7",
        declare: crosscheck::testing::as_declared,
        after: wrong_at_seven_rows,
    })];
    let plan = Plan {
        random_cases: 0,
        ..Plan::default()
    };
    let filter =
        |k: &CellKey| k.op == Op::Matmul && k.kernel == "splitk" && k.variant.label() == "f32";
    let report = run_matrix(&backends, &plan, &filter, &());
    let record = RunRecord::new(
        &report,
        RunContext {
            plan: &plan,
            selection: Selection::default(),
            missing: &[],
            required_missing: None,
            machine_name: Some("box".into()),
        },
    );
    let cell = &record.cells[0];
    assert_eq!(cell.verdict, CellVerdict::Fail);
    assert_eq!(cell.failures.len(), 1, "{:?}", cell.failures);
    assert!(!cell.launch_notes.is_empty(), "{cell:?}");
}
