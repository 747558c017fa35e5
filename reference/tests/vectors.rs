//! The reference codecs against test vectors made by implementations written elsewhere
//! (ml_dtypes, gguf-py, ggml's C reference quantizers; see `vectors/README.md`): every byte of
//! every encoding, and every bit of every decoded value (NaN matching NaN).

use std::path::PathBuf;

use crosscheck_reference::formats::minifloat::{E2M1, E2M3, E3M2, E4M3, E5M2, Minifloat};
use crosscheck_reference::formats::{
    self, BlockFormat, ElementRounding, Options, Overflow, ScaleRule, e8m0,
};

/// One case: shape, f32 inputs, encoded bytes, decoded f32 values.
struct Case {
    rows: usize,
    cols: usize,
    inputs: Vec<f32>,
    encoded: Vec<u8>,
    decoded: Vec<f32>,
}

fn load(name: &str) -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/{name}.bin"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..4], b"XCV1", "{name}");
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let (rows, cols) = (u32_at(4), u32_at(8));
    let mut at = 12;
    let mut sections = Vec::new();
    for _ in 0..3 {
        let len = u32_at(at);
        sections.push(bytes[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    let floats = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    Case {
        rows,
        cols,
        inputs: floats(&sections[0]),
        encoded: sections[1].clone(),
        decoded: floats(&sections[2]),
    }
}

/// Asserts equal bytes, naming the first differing one and how many differ.
fn same_bytes(what: &str, ours: &[u8], theirs: &[u8]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let wrong: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs[i]).collect();
    if let Some(&i) = wrong.first() {
        panic!(
            "{what}: {} of {} bytes differ; first at byte {i}: ours {:#04x}, theirs {:#04x}",
            wrong.len(),
            ours.len(),
            ours[i],
            theirs[i]
        );
    }
}

/// Asserts equal f32 bits (any NaN equals any NaN).
fn same_values(what: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let differs = |i: usize| {
        !(ours[i].is_nan() && theirs[i].is_nan()) && ours[i].to_bits() != theirs[i].to_bits()
    };
    let wrong: Vec<usize> = (0..ours.len()).filter(|&i| differs(i)).collect();
    if let Some(&i) = wrong.first() {
        panic!(
            "{what}: {} of {} values differ; first at {i}: ours {:e}, theirs {:e}",
            wrong.len(),
            ours.len(),
            ours[i],
            theirs[i]
        );
    }
}

const ELEMENTS: [(&str, Minifloat); 5] = [
    ("e5m2", E5M2),
    ("e4m3", E4M3),
    ("e3m2", E3M2),
    ("e2m3", E2M3),
    ("e2m1", E2M1),
];

#[test]
fn elements_match_ml_dtypes() {
    for (name, f) in ELEMENTS {
        let dec = load(&format!("element_{name}_decode"));
        let ours: Vec<f32> = dec.encoded.iter().map(|&c| f.decode(c)).collect();
        same_values(&format!("{name} decode"), &ours, &dec.decoded);
        let mut cases = vec![("saturate", Overflow::Saturate)];
        if name == "e5m2" {
            cases.push(("infinity", Overflow::Infinity));
        }
        for (suffix, overflow) in cases {
            let enc = load(&format!("element_{name}_{suffix}"));
            let ours: Vec<u8> = enc
                .inputs
                .iter()
                .map(|&x| f.encode(x, ElementRounding::Even, overflow))
                .collect();
            same_bytes(&format!("{name} encode ({suffix})"), &ours, &enc.encoded);
        }
    }
}

#[test]
fn fp8_e5m2_format_matches_ml_dtypes() {
    let case = load("element_e5m2_infinity");
    let ours = formats::encode(
        BlockFormat::Fp8E5M2,
        1,
        case.inputs.len(),
        &case.inputs,
        Options::default(),
    )
    .unwrap();
    same_bytes("fp8-e5m2", &ours, &case.encoded);
}

#[test]
fn e8m0_matches_ml_dtypes() {
    let case = load("e8m0_decode");
    let ours: Vec<f32> = case.encoded.iter().map(|&b| e8m0::e8m0_to_f32(b)).collect();
    same_values("e8m0 decode", &ours, &case.decoded);
}

#[test]
fn mx_blocks_match_ml_dtypes_elements_under_every_scale_rule() {
    for format in [
        BlockFormat::MxFp8E4M3,
        BlockFormat::MxFp8E5M2,
        BlockFormat::MxFp6E3M2,
        BlockFormat::MxFp6E2M3,
        BlockFormat::MxFp4,
    ] {
        for rule in ScaleRule::ALL {
            let case = load(&format!("{format}_{rule}"));
            let options = Options {
                scale_rule: Some(rule),
                ..Options::default()
            };
            let ours =
                formats::encode(format, case.rows, case.cols, &case.inputs, options).unwrap();
            same_bytes(&format!("{format} {rule}"), &ours, &case.encoded);
        }
    }
}

#[test]
fn nvfp4_matches_the_torchao_recipe_with_ml_dtypes() {
    let case = load("nvfp4");
    let ours = formats::encode(
        BlockFormat::NvFp4,
        case.rows,
        case.cols,
        &case.inputs,
        Options::default(),
    )
    .unwrap();
    same_bytes("nvfp4", &ours, &case.encoded);
}

#[test]
fn deepseek_ue8m0_matches_deepgemm_casts_with_ml_dtypes() {
    for format in [
        BlockFormat::Fp8E4M3TileUe8m0,
        BlockFormat::Fp8E4M3BlockUe8m0,
    ] {
        let case = load(format.name());
        let ours = formats::encode(
            format,
            case.rows,
            case.cols,
            &case.inputs,
            Options::default(),
        )
        .unwrap();
        same_bytes(format.name(), &ours, &case.encoded);
    }
}

#[test]
fn ggml_mxfp4_matches_gguf_py_and_ggml_c() {
    let f = BlockFormat::GgmlMxfp4;
    for name in ["ggml-mxfp4", "ggml-mxfp4_c"] {
        let case = load(name);
        let mut ours =
            formats::encode(f, case.rows, case.cols, &case.inputs, Options::default()).unwrap();
        // ggml's C converts a negative float to uint8_t (undefined) for blocks with amax below
        // 2^-125; crosscheck defines e = 0 there (docs/formats.md). Compare the rest.
        let mut undefined = 0;
        for (b, block) in case.inputs.chunks_exact(32).enumerate() {
            let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if amax > 0.0 && amax < crosscheck_spec::pow2_f32(-125) {
                assert_eq!(ours[17 * b], 0, "{name}: tiny block {b}");
                ours[17 * b..17 * b + 17].copy_from_slice(&case.encoded[17 * b..17 * b + 17]);
                undefined += 1;
            }
        }
        assert!(
            undefined < case.inputs.len() / 32 / 4,
            "{name}: mostly undefined blocks"
        );
        same_bytes(&format!("{name} encode"), &ours, &case.encoded);
        if !case.decoded.is_empty() {
            let back = formats::decode(f, case.rows, case.cols, &case.encoded).unwrap();
            same_values(&format!("{name} decode"), &back, &case.decoded);
        }
    }
}

#[test]
fn k_quants_decode_as_gguf_py() {
    for f in [BlockFormat::Q4K, BlockFormat::Q5K, BlockFormat::Q6K] {
        let case = load(&format!("{f}_decode"));
        let ours = formats::decode(f, case.rows, case.cols, &case.encoded).unwrap();
        same_values(&format!("{f} decode"), &ours, &case.decoded);
    }
}

#[test]
fn k_quants_encode_as_ggml_c() {
    for f in [BlockFormat::Q4K, BlockFormat::Q5K, BlockFormat::Q6K] {
        let case = load(&format!("{f}_encode"));
        let ours =
            formats::encode(f, case.rows, case.cols, &case.inputs, Options::default()).unwrap();
        same_bytes(&format!("{f} encode"), &ours, &case.encoded);
    }
}
