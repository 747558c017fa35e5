//! Generation: seeded input data for a case, and proptest strategies over shapes and cases.

pub mod data;
pub mod shapes;
pub mod smaller;

pub use data::inputs;
