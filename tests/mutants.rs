//! Every catalogued mutant (a realistic porting bug patched into a copy of a WGSL kernel) must
//! be killed by the default suite. This runs each on one wgpu backend with a reduced budget of
//! random cases; `crosscheck mutants` runs them all on every backend, with shrinking.

use crosscheck::mutants::{self, CATALOGUE, Outcome};
use crosscheck::run::Plan;
use crosscheck::testing::backend_or_skip;

#[test]
fn every_catalogued_mutant_is_killed() {
    let api = if backend_or_skip("vulkan", "mutants (trying gl)").is_some() {
        "vulkan"
    } else {
        "gl"
    };
    if backend_or_skip(api, "mutants").is_none() {
        return;
    }
    let backend = crosscheck::registry().wgpu(api).expect("present").clone();
    let plan = Plan {
        random_cases: 4,
        ..Plan::default()
    };
    let mut problems = Vec::new();
    for m in CATALOGUE {
        match mutants::run(&backend, m, &plan, false) {
            Outcome::Killed { .. } => {}
            other => problems.push(format!("{} ({}): {other:?}", m.id, m.bug)),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} mutants not killed:\n{}",
        problems.len(),
        CATALOGUE.len(),
        problems.join("\n")
    );
}
