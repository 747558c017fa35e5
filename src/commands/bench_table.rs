//! The text form of a bench report: rooflines, one line per timed workload, Pennycook's
//! portability per kernel, the err/bound distribution and the verification cost.

use std::fmt::Write;

use crosscheck::bench::BenchReport;

/// Renders the report as aligned text.
pub fn render(r: &BenchReport) -> String {
    let mut out = String::from(
        "measured rooflines (probe kernels; every time is a whole launch: upload, dispatch, readback)\n",
    );
    for b in &r.backends {
        match (&b.roofline, &b.error) {
            (Some(p), _) => writeln!(
                out,
                "  {:14} {:8.1} GFLOP/s  {:7.1} GB/s   {}",
                b.backend, p.gflops, p.gbps, b.device
            ),
            (None, Some(e)) => writeln!(out, "  {:14} probes failed: {e}", b.backend),
            _ => writeln!(out, "  {:14} not probed", b.backend),
        }
        .unwrap();
    }
    writeln!(
        out,
        "\n{:20} {:14} {:5} {:34} {:>9} {:>7} {:>9} {:>8} {:>8}",
        "op/kernel",
        "backend",
        "var.",
        "workload",
        "median",
        "spread",
        "GFLOP/s",
        "GB/s",
        "roofline"
    )
    .unwrap();
    for m in &r.measurements {
        let row = format!("{}/{}", m.op, m.kernel);
        match &m.note {
            Some(note) if m.times_s.is_empty() => {
                writeln!(
                    out,
                    "{row:20} {:14} {:5} {:34} {note}",
                    m.backend, m.variant, m.workload
                )
                .unwrap();
            }
            _ => {
                let fraction = m
                    .roofline_fraction
                    .map_or("—".into(), |f| format!("{:.1}%", 100.0 * f));
                writeln!(
                    out,
                    "{row:20} {:14} {:5} {:34} {:>8.4}s {:>6.0}% {:>9.2} {:>8.2} {:>8}",
                    m.backend,
                    m.variant,
                    m.workload,
                    m.median_s,
                    100.0 * m.spread,
                    m.gflops,
                    m.gbps,
                    fraction
                )
                .unwrap();
            }
        }
    }
    writeln!(out, "\nperformance portability (Pennycook: harmonic mean of roofline fractions over the backends; 0 if one cannot run it)").unwrap();
    for p in &r.portability {
        if p.fractions.len() < 2 {
            continue;
        }
        let parts: Vec<String> = p
            .fractions
            .iter()
            .map(|(b, f)| {
                format!(
                    "{b} {}",
                    f.map_or("—".into(), |f| format!("{:.1}%", 100.0 * f))
                )
            })
            .collect();
        writeln!(
            out,
            "  {:20} {:5} {:34} PP {:5.1}%  ({})",
            p.kernel,
            p.variant,
            p.workload,
            100.0 * p.pennycook,
            parts.join(", ")
        )
        .unwrap();
    }
    if !r.accuracy.is_empty() {
        writeln!(
            out,
            "\nerr/bound per case (judged like the matrix): median, 99th percentile, max"
        )
        .unwrap();
        for s in &r.accuracy {
            let q = |f: f64| s.ratios[((s.ratios.len() - 1) as f64 * f) as usize];
            writeln!(
                out,
                "  {:5} {:6} cases  {:.3}  {:.3}  {:.3}",
                s.precision,
                s.ratios.len(),
                q(0.5),
                q(0.99),
                q(1.0)
            )
            .unwrap();
        }
    }
    if let Some(v) = &r.verification {
        writeln!(
            out,
            "\nverifying a {n}³ product from {}: kernel {:.2}s; Freivalds ({} vectors, {} sampled elements) {:.3}s, {}; full f64 oracle {}",
            v.kernel,
            v.kernel_s,
            v.vectors,
            v.samples,
            v.freivalds_s,
            if v.freivalds_passed { "passed" } else { "FAILED" },
            v.oracle_s.map_or("skipped".into(), |s| format!("{s:.1}s ({:.0}x Freivalds)", s / v.freivalds_s)),
            n = v.n
        )
        .unwrap();
    }
    out
}
