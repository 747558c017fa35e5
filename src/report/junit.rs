//! JUnit XML from a run record: one test suite per backend and one test case per cell, so any
//! CI system shows the matrix as tests. A failing cell is a `<failure>` with the repro ids; an
//! n/a cell is `<skipped>` with its reason; a portability finding passes with the finding in
//! `system-out` (it is reported, not a failure).

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::record::{CellVerdict, RunRecord};

/// Failing cases described per failing cell (every id is in the JSON record).
const FAILURES_LISTED: usize = 10;

/// The record as JUnit XML.
pub fn render_junit(record: &RunRecord) -> String {
    let mut report = Report::new("crosscheck");
    report.set_time(Duration::from_secs_f64(record.elapsed_s));
    for backend in &record.backends {
        let mut suite = TestSuite::new(format!("crosscheck {}", backend.name));
        suite.add_properties([
            Property::new("device", backend.device.as_str()),
            Property::new("driver", backend.driver.as_str()),
            Property::new("machine", record.machine.name.as_str()),
            Property::new("seed", format!("{:#x}", record.plan.seed)),
        ]);
        let cells = record.cells.iter().filter(|c| c.backend == backend.name);
        for cell in cells {
            let status = match cell.verdict {
                CellVerdict::Pass | CellVerdict::Finding => TestCaseStatus::success(),
                CellVerdict::NotApplicable => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(cell.reason.clone().unwrap_or_default());
                    s
                }
                CellVerdict::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!(
                        "{} of {} cases failed",
                        cell.failures.len(),
                        cell.cases
                    ));
                    let text: Vec<String> = cell
                        .failures
                        .iter()
                        .take(FAILURES_LISTED)
                        .map(|f| {
                            format!(
                                "{}\nrepro: {}",
                                f.text,
                                crate::backends::repro_command(&f.case)
                            )
                        })
                        .collect();
                    s.set_description(text.join("\n\n"));
                    s
                }
            };
            let mut case = TestCase::new(format!("{} {}", cell.row(), cell.variant), status);
            case.set_classname(format!("crosscheck.{}.{}", backend.name, cell.op));
            case.set_time(Duration::from_secs_f64(cell.wall_s));
            case.set_assertions(cell.cases);
            let mut out = vec![format!("{} ({} cases)", cell.short(), cell.cases)];
            out.extend(cell.findings.iter().take(1).map(|f| {
                format!(
                    "portability finding in {} cases, e.g. {}: {}",
                    cell.findings.len(),
                    f.case,
                    f.text
                )
            }));
            out.extend(cell.launch_notes.iter().take(1).map(|n| {
                format!(
                    "† launches differ in {} cases, e.g. {}: {}",
                    cell.launch_notes.len(),
                    n.case,
                    n.text
                )
            }));
            case.set_system_out(out.join("\n"));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    if let Some(why) = &record.summary.required_missing {
        let mut suite = TestSuite::new("crosscheck required backends");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(why.clone());
        suite.add_test_case(TestCase::new("required backends present", status));
        report.add_test_suite(suite);
    }
    report.to_string().expect("JUnit XML serialises")
}
