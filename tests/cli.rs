//! The `crosscheck` command as a user meets it: the matrix, repro, list, bad input, and a
//! missing driver shown as unavailable with an install hint.

use std::process::{Command, Output};

fn crosscheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crosscheck"));
    cmd.args(args).env_remove("CROSSCHECK_REQUIRE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("crosscheck runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_matrix_prints_a_table_and_exits_zero_when_everything_passes() {
    let o = crosscheck(&["run", "--backend", "cpu", "--cases", "1"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    for needle in [
        "op/kernel",
        "matmul/naive",
        "matmul/tiled",
        "PASS",
        "f32",
        "bf16",
        "cases in",
    ] {
        assert!(t.contains(needle), "missing `{needle}` in:\n{t}");
    }
    assert!(!t.contains("FAIL"), "{t}");
}

#[test]
fn repro_reruns_a_case_and_shows_its_worst_elements() {
    let id = "matmul.tiled:cpu:bf16:b2m5n7k33.cr.bcast:normal:0x2a";
    let o = crosscheck(&["repro", id], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("case     {id}")), "{t}");
    assert!(t.contains("PASS (bound tier"), "{t}");
    assert!(
        t.contains("worst elements:") && t.contains("] = ") && t.contains("allowed ["),
        "{t}"
    );
}

#[test]
fn malformed_ids_and_unknown_backends_are_usage_errors() {
    let o = crosscheck(&["repro", "matmul.tiled:cpu"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("6 fields"), "{}", text(&o));
    let o = crosscheck(
        &[
            "repro",
            "matmul.tiled:wgpu-nowhere:f32:b1m1n1k1.rr:exact:0x1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not available here"), "{}", text(&o));
    let o = crosscheck(
        &["repro", "matmul.winograd:cpu:f32:b1m1n1k1.rr:exact:0x1"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no matmul kernel `winograd`"),
        "{}",
        text(&o)
    );
    let o = crosscheck(&["run", "--precision", "f64"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn list_shows_declared_contracts() {
    let o = crosscheck(&["list"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("acc f32") && t.contains("NearestEven"), "{t}");
}

/// With the Vulkan driver hidden, the Vulkan column is unavailable with the Debian hint, the run
/// still passes, and CROSSCHECK_REQUIRE turns the missing backend into a failure.
#[cfg(target_os = "linux")]
#[test]
fn a_missing_vulkan_driver_is_reported_with_an_install_hint() {
    let hide = [
        ("VK_ICD_FILENAMES", "/nonexistent.json"),
        ("VK_DRIVER_FILES", "/nonexistent.json"),
    ];
    let args = ["run", "--backend", "vulkan", "--cases", "0"];
    let o = crosscheck(&args, &hide);
    let t = text(&o);
    assert!(
        t.contains("wgpu-vulkan") && t.contains("unavailable"),
        "{t}"
    );
    assert!(t.contains("apt-get install mesa-vulkan-drivers"), "{t}");
    let mut env = hide.to_vec();
    env.push(("CROSSCHECK_REQUIRE", "cpu,vulkan"));
    let o = crosscheck(&["run", "--backend", "cpu", "--cases", "0"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("required backends are missing"),
        "{}",
        text(&o)
    );
}

/// A scratch directory unique to this test process.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crosscheck-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn encode_and_decode_round_trip_through_files() {
    let dir = scratch_dir("codec");
    let values: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) / 16.0).collect();
    let input = dir.join("x.f32");
    std::fs::write(
        &input,
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    for (format, row_length, worst) in [
        ("f16", "256", 0.0),
        ("q8_0", "256", 0.032),
        ("q4_0", "32", 0.5),
        ("fp8-e4m3-1x128", "128", 0.5),
    ] {
        let encoded = dir.join(format!("x.{format}"));
        let decoded = dir.join(format!("y.{format}.f32"));
        let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
        let o = crosscheck(
            &[
                "encode",
                "--format",
                format,
                "--input",
                &path(&input),
                "--output",
                &path(&encoded),
                "--row-length",
                row_length,
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let o = crosscheck(
            &[
                "decode",
                "--format",
                format,
                "--input",
                &path(&encoded),
                "--output",
                &path(&decoded),
                "--row-length",
                row_length,
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let back: Vec<f32> = std::fs::read(&decoded)
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(back.len(), values.len());
        let err = values
            .iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err <= worst, "{format}: {err}");
    }
    let encoded = dir.join("x.q8_0");
    let bytes = std::fs::read(&encoded).unwrap();
    assert_eq!(bytes.len(), 8 * 34, "eight Q8_0 blocks of 34 bytes");
    std::fs::write(dir.join("bad.f32"), [0u8; 7]).unwrap();
    let o = crosscheck(
        &[
            "encode",
            "--format",
            "q8_0",
            "--input",
            dir.join("bad.f32").to_str().unwrap(),
            "--output",
            "/dev/null",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("not a whole number of little-endian f32"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn one_command_writes_junit_and_json_and_merge_combines_two_machines() {
    let dir = std::env::temp_dir().join(format!("crosscheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    for machine in ["box-a", "box-b"] {
        let o = crosscheck(
            &[
                "run",
                "--backend",
                "cpu",
                "--op",
                "quantize",
                "--cases",
                "1",
                "--machine",
                machine,
                "--out",
                &path(&format!("{machine}.json")),
                "--out",
                &path(&format!("{machine}.xml")),
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let xml = std::fs::read_to_string(path("box-a.xml")).unwrap();
    // One quantize cell per CPU kernel: q8_0, q4_0, int8, fp8, mx (and mx-ceil, mx-even,
    // mx-rceil), nvfp4, kquant.
    assert_eq!(xml.matches("<testcase ").count(), 10, "{xml}");
    let o = crosscheck(
        &[
            "merge",
            &path("box-a.json"),
            &path("box-b.json"),
            "--format",
            "markdown",
        ],
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("| quantize | box-a/cpu | box-b/cpu |"), "{t}");
    let o = crosscheck(&["merge", &path("box-a.xml")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not JSON"), "{}", text(&o));
    let o = crosscheck(&["run", "--out", &path("report.pdf")], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot tell the format"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_shows_the_selected_cells_without_running_them() {
    let o = crosscheck(
        &[
            "run",
            "--list",
            "--backend",
            "cpu",
            "--op",
            "attention",
            "--shard",
            "1/2",
        ],
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        // Nine CPU attention cells (naive, flash, splitkv × three precisions), five in shard 1.
        t.contains("5 cells") && t.contains("nothing was run"),
        "{t}"
    );
    let o = crosscheck(&["run", "--list", "--shard", "3/2"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// wgpu adapters are faithful and finite-only (what WGSL promises) unless declared IEEE:
/// llvmpipe is by default, and `CROSSCHECK_WGPU_IEEE=` (empty) declares none. The one
/// exception is `quantize/kquant`, whose f32 steps are integer operations on the bits
/// (softfloat.wgsl): it declares IEEE NaN and ∞ on every adapter.
#[test]
fn wgpu_adapters_are_finite_only_and_faithful_unless_declared_ieee() {
    const INTEGER_IEEE: &str = "quantize/kquant:";
    // The contract lines of every wgpu kernel but the integer-IEEE one, and that one's.
    let wgpu_lines = |env: &[(&str, &str)]| {
        let o = crosscheck(&["list"], env);
        let t = text(&o);
        let (mut in_wgpu, mut in_integer) = (false, false);
        let (mut lines, mut integer) = (Vec::new(), Vec::new());
        for line in t.lines() {
            if !line.starts_with(' ') {
                in_wgpu = line.starts_with("wgpu-");
            } else if !line.starts_with("    ") {
                in_integer = line.trim_start().starts_with(INTEGER_IEEE);
            } else if in_wgpu && line.contains(" acc ") {
                if in_integer {
                    integer.push(line.to_string());
                } else {
                    lines.push(line.to_string());
                }
            }
        }
        (lines, integer)
    };
    let (declared, _) = wgpu_lines(&[]);
    if declared.is_empty() {
        eprintln!("no wgpu adapter here: nothing to check");
        return;
    }
    let llvmpipe = crosscheck(&["list"], &[]);
    if text(&llvmpipe).contains("llvmpipe") {
        assert!(
            declared
                .iter()
                .all(|l| l.contains("arithmetic nearest, non-finite ieee")),
            "{declared:?}"
        );
    }
    let (undeclared, integer) = wgpu_lines(&[("CROSSCHECK_WGPU_IEEE", "")]);
    assert!(
        undeclared
            .iter()
            .all(|l| l.contains("arithmetic faithful, non-finite finite-only")),
        "{undeclared:?}"
    );
    assert!(
        !integer.is_empty()
            && integer
                .iter()
                .all(|l| l.contains("non-finite ieee") && l.contains("subnormals Preserved")),
        "{integer:?}"
    );
}
