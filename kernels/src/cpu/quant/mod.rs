//! CPU quantized kernels: quantize, dequantize and quantized matmul for every format. Written
//! from the format definitions independently of the reference codecs (E4M3 and the other
//! minifloats by bit manipulation, f16 scales with the `half` crate), so that each checks the
//! other.

pub mod dequantize;
pub mod e4m3;
pub mod epilogue;
pub mod ggml_mxfp4;
pub mod kquant;
pub mod kquant_quantize;
pub mod minifloat;
pub mod mx;
pub mod mx_scale_rule;
pub mod mxint8;
pub mod nvfp4;
pub mod qmatmul;
pub mod quantize;
pub mod ue8m0;
