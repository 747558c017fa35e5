//! Every cell of the matrix on this machine as its own test (`harness = false`): one line per
//! op × kernel × backend × variant in `cargo test` and nextest, the cells of a missing wgpu API
//! ignored with the reason (failing when `CROSSCHECK_REQUIRE` names it). See `crosscheck::cells`.

fn main() {
    crosscheck::cells::main_with_registry()
}
