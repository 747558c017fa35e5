//! Runs the default matrix on the example external backend (`external/gemm-backend`: the `gemm`
//! and `matrixmultiply` crates) next to crosscheck's own CPU kernels and prints the table.
//! `cargo run --release --example external_gemm`; exit code 1 on any failure.

use std::sync::Arc;

use crosscheck::report::{RunRecord, render_matrix};
use crosscheck::run::shrink::shrink_budget;
use crosscheck::run::{Plan, run_matrix};
use crosscheck_gemm_backend::GemmBackend;
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, Op};

fn main() {
    let backends: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend), Arc::new(GemmBackend)];
    let matmul_only = |key: &crosscheck::run::CellKey| key.op == Op::Matmul;
    let plan = Plan::default();
    let mut report = run_matrix(&backends, &plan, &matmul_only, &());
    // Failing cells list their smallest cases shrunk further, as `crosscheck run` shows them.
    crosscheck::run::shrink::shrink_failures(&mut report, &backends, shrink_budget());
    print!("{}", render_matrix(&RunRecord::of_report(&report, &plan)));
    std::process::exit(i32::from(report.any_failed()));
}
