//! Process backends: kernels in any language, run by a program that speaks the framed
//! safetensors protocol of `docs/protocol.md` on its standard input and output.
//!
//! The harness keeps everything that decides a verdict (generation, oracle, bound, guards,
//! shrinking, ids); the process only computes. Anything odd the process does fails only the
//! launch it was serving, and the process is restarted.

mod backend;
pub mod captured;
mod child;
pub mod config;
pub mod declaration;
pub mod exchange;
pub mod frame;
pub mod message;
pub mod problem_json;

pub use backend::{PROTOCOL_VERSION, ProcessBackend};
pub use config::{ProcessSpec, load_config};
