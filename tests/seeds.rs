//! Reproducible test runs: a property's random cases follow one seed per test run, a failure
//! prints it, and `CROSSCHECK_SEED` replays the run.

use std::sync::Arc;

use crosscheck::generate::shapes;
use crosscheck::testing::{SwappedB, check_property, config, parse_seed, seeded_runner};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, Op, Precision, Variant};
use proptest::strategy::{Strategy, ValueTree};

fn drawn(seed: u64) -> Vec<String> {
    let strategy = shapes::case(
        Op::Matmul,
        "cpu",
        "naive",
        Variant::portable(Precision::F32),
    );
    let mut runner = seeded_runner(config(), seed);
    (0..8)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current().id())
        .collect()
}

#[test]
fn the_same_seed_draws_the_same_cases() {
    assert_eq!(drawn(0x5eed), drawn(0x5eed));
    assert_ne!(drawn(0x5eed), drawn(0x5eee));
}

#[test]
fn a_failing_property_prints_the_seed_that_replays_the_run() {
    let broken: Arc<dyn Backend> = Arc::new(SwappedB {
        inner: CpuBackend,
        name: "cpu",
    });
    let strategy = shapes::case(
        Op::Matmul,
        "cpu",
        "naive",
        Variant::portable(Precision::F32),
    );
    let failure = check_property(&broken, strategy).unwrap_err();
    assert!(
        failure.contains("replay this test run: CROSSCHECK_SEED=0x"),
        "{failure}"
    );
}

#[test]
fn seeds_parse_as_hex_or_decimal() {
    assert_eq!(parse_seed("0x2a"), Ok(42));
    assert_eq!(parse_seed(" 42 "), Ok(42));
    assert!(
        parse_seed("forty-two")
            .unwrap_err()
            .contains("CROSSCHECK_SEED")
    );
}
