//! Running cases: one case in isolation with guards, the default plan of cases, and the matrix.

pub mod cell;
pub mod deadline;
pub mod expect;
pub mod filter;
pub mod invariance;
pub mod isolate;
pub mod launch_context;
pub mod matrix;
pub mod memory;
pub mod plan;
pub mod shrink;

pub use cell::{CaseResult, run_case};
pub use filter::CellFilter;
pub use matrix::{CellKey, CellMeasures, CellStatus, MatrixReport, run_matrix};
pub use plan::Plan;
