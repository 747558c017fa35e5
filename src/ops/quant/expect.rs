//! What correct quantized kernels produce: the reference codec's exact bytes and values for
//! quantize and dequantize, the f64 product of the dequantized operands with its bound for the
//! quantized matmul, and the memory a case of each needs.

use crosscheck_reference as reference;
use crosscheck_spec::{
    HostTensor, NumericContract, QuantFormat, QuantMatmulProblem, QuantizeProblem,
};

use crate::case::Case;
use crate::judge::bound;
use crate::run::expect::{Expectation, exact_values};
use crate::run::memory::{Footprint, product};

/// The format (with the MX scale rule and element rounding the kernel declares) defines every
/// bit: the reference codec's bytes, exactly.
pub fn quantize(
    p: &QuantizeProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let x = inputs[0].to_f32();
    let bytes = reference::quant::encode_declared(
        p.format,
        p.rows,
        p.cols,
        &x,
        contract.scale_rule,
        contract.element_rounding,
    );
    exact_values(bytes.into_iter().map(f64::from).collect())
}

/// The reference codec's f32 values, exactly.
pub fn dequantize(p: &QuantizeProblem, inputs: &[HostTensor]) -> Expectation {
    let values = reference::quant::decode(p.format, p.rows, p.cols, &inputs[0].bytes);
    exact_values(values.into_iter().map(f64::from).collect())
}

/// The f64 product of the exactly dequantized operands and the error `contract` allows.
pub fn qmatmul(
    case: &Case,
    p: &QuantMatmulProblem,
    inputs: &[HostTensor],
    contract: &NumericContract,
) -> Expectation {
    let r = reference::qmatmul::qmatmul(p, &inputs[0], &inputs[1]);
    let allowed_error = bound::qmatmul(contract, p, &r.values, &r.gauge);
    Expectation {
        tier: case.tier(),
        values: r.values,
        allowed_error,
        untouched: Vec::new(),
    }
}

/// f32 values in, encoded bytes out.
pub fn quantize_footprint(p: &QuantizeProblem, output_size: u128) -> Footprint {
    let values = product(&[p.rows, p.cols]);
    Footprint {
        values,
        stored: values.saturating_mul(4),
        outputs: encoded_bytes(p.format, p.rows, p.cols),
        output_size,
        scratch: 0,
    }
}

/// Encoded bytes in, f32 values out.
pub fn dequantize_footprint(p: &QuantizeProblem, output_size: u128) -> Footprint {
    Footprint {
        values: product(&[p.rows, p.cols]),
        stored: encoded_bytes(p.format, p.rows, p.cols),
        outputs: product(&[p.rows, p.cols]),
        output_size,
        scratch: 0,
    }
}

/// Activations (f32, bf16 or encoded) and encoded weights in, C in the output's precision out.
pub fn qmatmul_footprint(p: &QuantMatmulProblem, output_size: u128) -> Footprint {
    let a = match p.activations() {
        // Unquantized activations are stored like the output (f32, or bf16 in a bf16 variant).
        None => product(&[p.m, p.k]).saturating_mul(output_size),
        Some(format) => encoded_bytes(format, p.m, p.k),
    };
    Footprint {
        values: product(&[p.m, p.k]).saturating_add(product(&[p.n, p.k])),
        stored: a.saturating_add(encoded_bytes(p.weights, p.n, p.k)),
        outputs: product(&[p.m, p.n]),
        output_size,
        scratch: 0,
    }
}

/// Bytes of a rows × cols matrix in `format` ([`QuantFormat::encoded_len`]), saturating.
pub fn encoded_bytes(format: QuantFormat, rows: usize, cols: usize) -> u128 {
    let tiles = |n: usize| n.div_ceil(crosscheck_spec::FP8_TILE);
    let blocks = product(&[rows, cols / format.row_block()]);
    let values = product(&[rows, cols]);
    match format {
        QuantFormat::Int8 => product(&[rows, 4]).saturating_add(values),
        QuantFormat::Fp8E4M3 | QuantFormat::Fp8E5M2 => values,
        QuantFormat::Fp8E4M3Tile => product(&[rows, tiles(cols), 4]).saturating_add(values),
        QuantFormat::Fp8E4M3Block => product(&[tiles(rows), tiles(cols), 4]).saturating_add(values),
        QuantFormat::Fp8E4M3TileUe8m0 => product(&[rows, tiles(cols)]).saturating_add(values),
        QuantFormat::Fp8E4M3BlockUe8m0 => {
            product(&[tiles(rows), tiles(cols)]).saturating_add(values)
        }
        QuantFormat::NvFp4 => blocks.saturating_mul(9).saturating_add(4),
        QuantFormat::W8A8BiasI32
        | QuantFormat::W8A8BiasI32S19
        | QuantFormat::W8A8BiasF32
        | QuantFormat::W8A8BiasBf16 => product(&[rows, 8]).saturating_add(values),
        QuantFormat::AntiquantW8G64 | QuantFormat::AntiquantW4G32 => {
            let bits = format.antiquant().map_or(8, |(bits, _)| bits) as u128;
            blocks
                .saturating_mul(4)
                .saturating_add(values.saturating_mul(bits) / 8)
        }
        // Whole blocks without a header: a block's bytes from the format itself.
        _ => blocks.saturating_mul(format.encoded_len(1, format.row_block()) as u128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{ElementRounding, Layout, Precision, ScaleRule};

    /// The judge encodes with the rule a kernel declares: one MXFP4 block of amax 7 gets the
    /// floor scale 2^0 by default and 2^1 under ceil, and a tie rounds by the declared rule.
    #[test]
    fn quantize_expects_the_declared_scale_rule_and_rounding() {
        let p = QuantizeProblem {
            format: QuantFormat::MxFp4,
            rows: 1,
            cols: 32,
        };
        let mut x = [0.25f32; 32];
        x[0] = 7.0;
        let input = HostTensor {
            shape: vec![1, 32],
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: x.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let under = |scale_rule, element_rounding| {
            let contract = NumericContract {
                scale_rule,
                element_rounding,
                ..NumericContract::IEEE_F32
            };
            quantize(&p, std::slice::from_ref(&input), &contract).values
        };
        let floor = under(ScaleRule::Floor, ElementRounding::Even);
        let ceil = under(ScaleRule::Ceil, ElementRounding::Even);
        assert_eq!((floor[0], ceil[0]), (127.0, 128.0));
        // 0.25 under scale 1 is an E2M1 tie between 0 and 0.5: even gives code 0, away 0.5.
        let away = under(ScaleRule::Floor, ElementRounding::Away);
        assert_ne!(floor[1..], away[1..]);
    }
}
