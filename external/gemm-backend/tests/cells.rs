//! The gemm backend's matrix cells as tests, the way a crate brings its own backend to
//! crosscheck: one test per op × kernel × variant, failures with shrunk repro lines.

crosscheck::cell_tests!(crosscheck_gemm_backend::GemmBackend);
