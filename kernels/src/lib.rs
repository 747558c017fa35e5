//! The kernels under test.
//!
//! `cpu` holds native Rust kernels, `wgpu` holds WGSL kernels run on every adapter wgpu finds
//! (one WGSL file per kernel under `src/wgpu/shaders/`). Kernels never see the oracle: this crate
//! depends on `crosscheck-spec` alone and converts between precisions with the `half` crate.

pub mod cpu;
mod missing;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use cpu::CpuBackend;
pub use missing::MissingApi;
#[cfg(feature = "wgpu")]
pub use wgpu::{Discovery, WgpuBackend, discover};
