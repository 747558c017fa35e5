//! The bench's SVG plots: GFLOP/s against matmul size, one chart per backend with a line per
//! kernel and variant, and the err/bound distribution per precision as cumulative curves.

use std::path::Path;

use plotters::prelude::*;

use crate::bench::Measurement;
use crate::bench::accuracy::AccuracySample;

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Writes `gflops-<backend>.svg` into `dir` for every backend with matmul timings; returns the
/// files written.
pub fn gflops_by_size(measurements: &[Measurement], dir: &Path) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    let mut backends: Vec<&str> = measurements.iter().map(|m| m.backend.as_str()).collect();
    backends.dedup();
    backends.sort();
    backends.dedup();
    for backend in backends {
        let timed: Vec<&Measurement> = measurements
            .iter()
            .filter(|m| m.backend == backend && m.op == "matmul" && m.gflops.is_finite())
            .collect();
        if timed.is_empty() {
            continue;
        }
        let file = dir.join(format!("gflops-{backend}.svg"));
        gflops_chart(backend, &timed, &file).map_err(|e| format!("{}: {e}", file.display()))?;
        written.push(file.display().to_string());
    }
    Ok(written)
}

fn gflops_chart(backend: &str, timed: &[&Measurement], file: &Path) -> PlotResult {
    let root = SVGBackend::new(file, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_size = timed.iter().map(|m| m.size).fold(256.0, f64::max);
    let min_size = timed.iter().map(|m| m.size).fold(max_size, f64::min);
    let top = timed.iter().map(|m| m.gflops).fold(0.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("matmul GFLOP/s on {backend}"), ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (min_size * 0.9..max_size * 1.1).log_scale(),
            0.0..top.max(1e-3),
        )?;
    chart
        .configure_mesh()
        .x_desc("M = N = K")
        .y_desc("GFLOP/s (median launch)")
        .draw()?;
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for m in timed {
        let name = format!("{} {}", m.kernel, m.variant);
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push((m.size, m.gflops)),
            None => series.push((name, vec![(m.size, m.gflops)])),
        }
    }
    for (i, (name, points)) in series.into_iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Writes `accuracy.svg`: per precision, the fraction of cases whose worst err/bound is at most x.
pub fn accuracy(samples: &[AccuracySample], file: &Path) -> Result<(), String> {
    accuracy_chart(samples, file).map_err(|e| format!("{}: {e}", file.display()))
}

fn accuracy_chart(samples: &[AccuracySample], file: &Path) -> PlotResult {
    let root = SVGBackend::new(file, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "worst err/bound per case (≤ 1 passes): cumulative share",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.0f64)?;
    chart
        .configure_mesh()
        .x_desc("worst err/bound of the case")
        .y_desc("share of cases")
        .draw()?;
    for (i, s) in samples.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let n = s.ratios.len() as f64;
        let points: Vec<(f64, f64)> = s
            .ratios
            .iter()
            .enumerate()
            .map(|(j, &r)| (r.min(1.0), (j + 1) as f64 / n))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(format!("{} ({} cases)", s.precision, s.ratios.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
