//! The crosscheck oracle.
//!
//! Results are computed in f64 from the exact stored inputs, together with the magnitude gauges
//! that error bounds need. The codecs here are the source of truth for every storage format:
//! kernels use their own conversions, and the judge compares them with these.

pub mod attention;
pub mod codec;
pub mod formats;
pub mod indexer;
pub mod matmul;
pub mod mla;
pub mod moe;
#[cfg(test)]
mod naive;
pub mod qmatmul;
pub mod quant;
pub mod rounding;
pub mod sparse;

pub use matmul::{MatmulReference, matmul};
pub use rounding::{FloatFormat, Rounding, round_in, round_to};
