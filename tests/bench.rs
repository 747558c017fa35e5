//! The benchmark's machinery on small sizes: every selected workload is timed or says why not,
//! roofline fractions and Pennycook's figure are consistent, and the plots are written.

use std::sync::Arc;

use crosscheck::bench::{self, BenchPlan, BenchProgress, accuracy, plot, probe};
use crosscheck::run::{CellKey, Plan};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, Op};

struct Quiet;

impl BenchProgress for Quiet {
    fn start(&self, _: u64) {}
    fn step(&self, _: &str) {}
    fn done(&self) {}
}

#[test]
fn small_bench_times_every_workload_and_writes_plots() {
    let roofline = probe::Roofline {
        gflops: 100.0,
        gbps: 10.0,
    };
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let backends = vec![(cpu.clone(), Some(roofline))];
    let plan = BenchPlan {
        sizes: vec![32, 64],
        target_seconds: 0.0,
        min_reps: 2,
        ..BenchPlan::default()
    };
    let filter = |k: &CellKey| k.op == Op::Matmul || (k.op == Op::Dequantize && k.kernel == "q4_0");
    let m = bench::measure(&backends, &filter, &plan, &Quiet);
    assert_eq!(
        m.len(),
        3 * 3 * 2 + 1,
        "3 kernels x 3 variants x 2 sizes + dequantize"
    );
    for x in &m {
        assert!(x.note.is_none() && x.times_s.len() >= 2, "{x:?}");
        let attainable = roofline.attainable(x.flops, x.bytes);
        assert!((x.roofline_fraction.unwrap() - x.gflops / attainable).abs() < 1e-12);
    }
    let pp = bench::portability(&m);
    assert!(
        pp.iter()
            .all(|p| p.fractions.len() == 1 && p.pennycook > 0.0)
    );
    let samples = accuracy::sample(
        &[cpu],
        &|k: &CellKey| k.op == Op::Matmul && k.kernel == "naive",
        &Plan {
            random_cases: 1,
            ..Plan::default()
        },
    );
    assert_eq!(samples.len(), 3, "f32, f16, bf16");
    assert!(
        samples
            .iter()
            .all(|s| s.ratios.iter().all(|r| (0.0..=1.0).contains(r)))
    );
    let dir = std::env::temp_dir().join(format!("crosscheck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = plot::gflops_by_size(&m, &dir).unwrap();
    assert_eq!(files.len(), 1);
    plot::accuracy(&samples, &dir.join("accuracy.svg")).unwrap();
    let svg = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("tiled f32"),
        "{svg:.200}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pennycook_is_the_harmonic_mean_and_zero_when_a_backend_cannot_run_it() {
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend);
    let plan = BenchPlan {
        sizes: vec![16],
        target_seconds: 0.0,
        min_reps: 1,
        ..BenchPlan::default()
    };
    let filter =
        |k: &CellKey| k.op == Op::Matmul && k.kernel == "naive" && k.variant.label() == "f32";
    let mut m = bench::measure(&[(cpu, None)], &filter, &plan, &Quiet);
    m[0].roofline_fraction = Some(0.5);
    let mut other = m[0].clone();
    other.backend = "other".into();
    other.roofline_fraction = Some(0.25);
    m.push(other.clone());
    let pp = bench::portability(&m);
    assert!(
        (pp[0].pennycook - 2.0 / (2.0 + 4.0)).abs() < 1e-12,
        "{pp:?}"
    );
    other.roofline_fraction = None;
    m[1] = other;
    assert_eq!(bench::portability(&m)[0].pennycook, 0.0);
}
