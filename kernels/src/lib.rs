//! The kernels under test.
//!
//! `cpu` holds native Rust kernels, `wgpu` holds WGSL kernels run on every adapter wgpu finds
//! (one WGSL file per kernel under `src/wgpu/shaders/`). Kernels never see the oracle: this crate
//! depends on `crosscheck-spec` alone and converts between precisions with the `half` crate.

pub mod cpu;
pub mod wgpu;

pub use cpu::CpuBackend;
pub use wgpu::{Discovery, MissingApi, WgpuBackend, discover};
