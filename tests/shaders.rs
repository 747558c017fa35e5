//! Shader portability without the hardware: every WGSL module must translate with naga to
//! SPIR-V, MSL, HLSL and GLSL (where the target can take it) and fit WebGPU's default limits.
//! The broken-on-purpose tests show each check failing on a module that would not port.

use crosscheck::portability::{ModuleReport, Target, Translation, check_all};
use crosscheck_spec::{KernelId, Op};

fn failures(reports: &[ModuleReport]) -> Vec<String> {
    let mut out = Vec::new();
    for r in reports {
        if let Err(e) = &r.front_end {
            out.push(format!("{} {}: {e}", r.kernel, r.variant));
        }
        for (target, t) in &r.targets {
            if let Translation::Failed(e) = t {
                out.push(format!(
                    "{} {} → {}: {e}",
                    r.kernel,
                    r.variant,
                    target.name()
                ));
            }
        }
    }
    out
}

#[test]
fn every_kernel_translates_for_every_target() {
    let reports = check_all(None);
    assert!(reports.len() >= 28, "only {} modules", reports.len());
    let failed = failures(&reports);
    assert!(failed.is_empty(), "untranslatable:\n{}", failed.join("\n"));
    // Only native-f16 modules on GLSL may be n/a; everything else was written.
    for r in &reports {
        for (target, t) in &r.targets {
            if let Translation::NotApplicable(_) = t {
                assert_eq!(*target, Target::Glsl, "{} {}", r.kernel, r.variant);
                assert!(
                    r.variant.path == crosscheck_spec::Path::Native,
                    "{} {} n/a on GLSL",
                    r.kernel,
                    r.variant
                );
            }
        }
    }
}

#[test]
fn every_kernel_fits_webgpu_default_limits() {
    let over: Vec<String> = check_all(None)
        .iter()
        .filter(|r| !r.limits_exceeded().is_empty())
        .map(|r| {
            format!(
                "{} {}: {}",
                r.kernel,
                r.variant,
                r.limits_exceeded().join(", ")
            )
        })
        .collect();
    assert!(
        over.is_empty(),
        "need more than WebGPU's defaults:\n{}",
        over.join("\n")
    );
}

#[test]
fn a_kernel_using_f64_is_caught_as_untranslatable_for_metal() {
    // f64 is valid WGSL for naga and SPIR-V has it, but Metal and GLSL ES do not.
    let add_f64 = |src: &str| format!("{src}\nvar<private> wide: f64 = 1.0lf;\n");
    let reports = check_all(Some((&KernelId::fixed(Op::Matmul, "naive"), &add_f64)));
    let failed = failures(&reports);
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("matmul/naive f32 → msl")),
        "{failed:?}"
    );
    assert!(
        failed.iter().all(|f| f.starts_with("matmul/naive")),
        "{failed:?}"
    );
}

#[test]
fn a_kernel_that_does_not_parse_is_caught() {
    let typo = |src: &str| src.replacen("fn main(", "fn main((", 1);
    let failed = failures(&check_all(Some((
        &KernelId::fixed(Op::Matmul, "tiled"),
        &typo,
    ))));
    assert_eq!(failed.len(), 4, "every variant of matmul/tiled: {failed:?}");
}

#[test]
fn a_workgroup_over_webgpu_defaults_is_reported() {
    let wide = |src: &str| {
        src.replace("@workgroup_size(16, 16, 1)", "@workgroup_size(32, 32, 1)")
            .replace(
                "var<workgroup> a_tile: array<vec4<f32>, 256>",
                "var<workgroup> a_tile: array<vec4<f32>, 2048>",
            )
    };
    let naive = check_all(Some((&KernelId::fixed(Op::Matmul, "naive"), &wide)));
    let over = naive[0].limits_exceeded();
    assert_eq!(naive[0].kernel, "matmul/naive");
    assert!(
        over.iter()
            .any(|o| o.starts_with("invocations per workgroup 1024 > 256")),
        "{over:?}"
    );
    let tiled = check_all(Some((&KernelId::fixed(Op::Matmul, "tiled"), &wide)));
    let tiled = tiled.iter().find(|r| r.kernel == "matmul/tiled").unwrap();
    assert!(
        tiled
            .limits_exceeded()
            .iter()
            .any(|o| o.starts_with("workgroup storage bytes 36864 > 16384")),
        "{:?}",
        tiled.limits_exceeded()
    );
}
