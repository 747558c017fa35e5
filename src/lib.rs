//! crosscheck: checks matmul, attention and quantized kernels against an independent f64 oracle
//! across backends and precisions.
//!
//! The harness is layered as the crates are: `generate` draws seeded inputs and proptest cases,
//! `run` executes a case on a backend with guards and panic isolation, `judge` holds the output
//! to the bound derived from the kernel's declared contract, and `report` renders verdicts.
//! The binary (`src/main.rs`) wires these into the `crosscheck` command.

pub mod backends;
pub mod bench;
pub mod case;
pub mod cells;
pub mod convert;
#[cfg(feature = "wgpu")]
pub mod criteria;
pub mod generate;
pub mod guards;
pub mod judge;
#[cfg(feature = "wgpu")]
pub mod mutants;
pub mod ops;
#[cfg(feature = "wgpu")]
pub mod portability;
pub mod process;
pub mod report;
pub mod run;
pub mod soak;
pub mod testing;
pub mod verify;

pub use backends::{Registry, registry};
pub use case::{Case, Distribution};
pub use judge::{Failure, Tier, Verdict};
pub use run::{CaseResult, Plan, run_case, run_matrix};
