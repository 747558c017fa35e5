//! The HTML reports in a real browser: each page (a run with a failing cell, a merge of two
//! machines, a bench) is loaded from a file URL in headless Chromium, and the rendered DOM must
//! hold every cell of the record with its verdict, a failing cell's detail must hold each of its
//! failing case ids with the repro command, and the page must load nothing (its strict
//! Content-Security-Policy, no http(s) or protocol-relative `src`/`href`, and no console message:
//! a blocked load or a script error would print one). Two controls show the checks fail on a page
//! missing a cell or a repro id, and the 10,000-cell merge is timed (docs/performance.md).
//!
//! The browser is `$CROSSCHECK_CHROMIUM`, else `chromium`, `chromium-browser` or
//! `google-chrome` on the PATH (Debian: `apt-get install --no-install-recommends chromium`).
//! Without one each browser test is reported ignored with the reason; with
//! `CROSSCHECK_REQUIRE_BROWSER=1` (as `.ci/run` sets) a missing browser fails them instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crosscheck::bench::accuracy::AccuracySample;
use crosscheck::bench::probe::Roofline;
use crosscheck::bench::{BackendPeak, BenchReport, Measurement, Portability};
use crosscheck::report::html::CSP;
use crosscheck::report::record::{CellRecord, CellVerdict, RunContext, Selection};
use crosscheck::report::{
    MergedMatrix, RunRecord, merge, render_bench_html, render_merged_html, render_run_html,
};
use crosscheck::run::{CellKey, Plan, run_matrix};
use crosscheck::testing::{SwappedB, run_reporting_ignored};
use crosscheck_kernels::CpuBackend;
use crosscheck_spec::{Backend, Op};
use libtest_mimic::{Arguments, Failed, Trial};

/// Environment variable that makes a missing browser a failure instead of an ignored test.
const REQUIRE_BROWSER: &str = "CROSSCHECK_REQUIRE_BROWSER";
/// Longest a page may take to load and render before the browser is stopped.
const LOAD_LIMIT: Duration = Duration::from_secs(60);

/// A browser that runs headless, or why there is none.
fn browser() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = match std::env::var_os("CROSSCHECK_CHROMIUM") {
        Some(path) => vec![PathBuf::from(path)],
        None => ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(PathBuf::from)
            .collect(),
    };
    for candidate in &candidates {
        if let Ok(o) = Command::new(candidate).arg("--version").output()
            && o.status.success()
        {
            return Ok(candidate.clone());
        }
    }
    Err(format!(
        "no headless browser ({} not found); install one with `apt-get install \
         --no-install-recommends chromium` or set CROSSCHECK_CHROMIUM",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A fresh directory for this test process's pages.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crosscheck-html-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The rendered DOM of a page and the browser's console messages.
struct Loaded {
    dom: String,
    console: Vec<String>,
    wall: Duration,
}

/// Writes `html` to `dir/name`, loads it from its file URL (with `fragment`) in headless Chromium
/// and returns the DOM once the page's scripts have run.
fn load(browser: &Path, dir: &Path, name: &str, html: &str, fragment: &str) -> Loaded {
    let file = dir.join(name);
    std::fs::write(&file, html).expect("the page is written");
    let dom_file = dir.join(format!("{name}.dom"));
    let log_file = dir.join(format!("{name}.log"));
    let url = format!("file://{}{fragment}", file.display());
    let started = Instant::now();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join(format!("{name}.profile")).display()
        ))
        .args(["--dump-dom", &url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_file).expect("dom file"))
        .stderr(std::fs::File::create(&log_file).expect("log file"))
        .spawn()
        .expect("the browser starts");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > LOAD_LIMIT {
            let _ = child.kill();
            panic!("{url} did not load within {LOAD_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = started.elapsed();
    let dom = std::fs::read_to_string(&dom_file).expect("the DOM");
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert!(
        dom.contains("data-ready=\"1\""),
        "{url} did not finish rendering; the browser said:\n{log}"
    );
    Loaded {
        dom,
        console: log
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(String::from)
            .collect(),
        wall,
    }
}

/// Text as the browser serialises a text node.
fn text_node(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text as the browser serialises an attribute value.
fn attribute(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

/// The text of the matrix cell with `data-key="key"`, if the DOM has one.
fn cell_text<'a>(dom: &'a str, key: &str) -> Option<&'a str> {
    let at = dom.find(&format!("data-key=\"{}\"", attribute(key)))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find("</td>")?;
    Some(&rest[start..start + end])
}

/// Every expected (key, cell) is a matrix cell showing its verdict, and there are no others.
fn check_cells(dom: &str, expected: &[(String, &CellRecord)]) -> Result<(), String> {
    // The rendered content, not the script that renders it.
    let start = dom.find("<main>").ok_or("no <main>")?;
    let dom = &dom[start..start + dom[start..].find("</main>").ok_or("no </main>")?];
    let mut problems = Vec::new();
    for (key, cell) in expected {
        match cell_text(dom, key) {
            None => problems.push(format!("no cell {key}")),
            Some(text) if !text.starts_with(cell.verdict.label()) => problems.push(format!(
                "cell {key} shows `{text}`, not its verdict {}",
                cell.verdict.label()
            )),
            Some(_) => {}
        }
    }
    let shown = dom.matches(" data-key=\"").count();
    if shown != expected.len() {
        problems.push(format!(
            "{shown} cells on the page, {} in the record",
            expected.len()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The open detail dialog holds each failing case id of `cell` with its repro command, its
/// worst elements and the err/bound histogram.
fn check_detail(dom: &str, cell: &CellRecord) -> Result<(), String> {
    let start = dom
        .find("<dialog id=\"detail\"")
        .ok_or("no detail dialog")?;
    let dialog = &dom[start..start + dom[start..].find("</dialog>").ok_or("unclosed dialog")?];
    if !dialog[..dialog.find('>').unwrap_or(0)].contains(" open") {
        return Err("the detail dialog is not open".into());
    }
    let mut problems = Vec::new();
    for failure in &cell.failures {
        if !dialog.contains(&text_node(&failure.case)) {
            problems.push(format!("the detail lacks failing case {}", failure.case));
        }
        let repro = failure.repro.as_deref().ok_or("a failure without repro")?;
        if !dialog.contains(&text_node(repro)) {
            problems.push(format!("the detail lacks the repro command `{repro}`"));
        }
        if let Some(worst) = failure.worst.first()
            && !dialog.contains(&text_node(&worst.element))
        {
            problems.push(format!("the detail lacks worst element {}", worst.element));
        }
    }
    if !dialog.contains("<svg class=\"hist\"") {
        problems.push("the detail has no err/bound histogram".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The page can load nothing: its CSP comes first in the head, no `src`/`href` names another
/// place, and the browser logged no console message (a blocked load or script error logs one).
fn check_offline(html: &str, loaded: &Loaded) -> Result<(), String> {
    let meta = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">");
    let head = &html[..html.find("</head>").ok_or("no </head>")?];
    match (head.find(&meta), head.find("<script"), head.find("<style")) {
        (None, _, _) => return Err(format!("no `{meta}` in the head")),
        (Some(m), s, c) if s.is_some_and(|s| s < m) || c.is_some_and(|c| c < m) => {
            return Err("the CSP comes after a script or style".into());
        }
        _ => {}
    }
    for doc in [html, loaded.dom.as_str()] {
        let lower = doc.to_ascii_lowercase();
        for attr in ["src=", "href=", "url("] {
            for (at, _) in lower.match_indices(attr) {
                let value = lower[at + attr.len()..]
                    .trim_start_matches(['"', '\'', ' '])
                    .to_string();
                if ["http:", "https:", "//", "ftp:", "ws:", "wss:"]
                    .iter()
                    .any(|scheme| value.starts_with(scheme))
                {
                    let end = (at + 80).min(doc.len());
                    return Err(format!("the page refers elsewhere: {}", &doc[at..end]));
                }
            }
        }
    }
    if !loaded.console.is_empty() {
        return Err(format!(
            "the browser's console:\n{}",
            loaded.console.join("\n")
        ));
    }
    Ok(())
}

/// A run of matmul/naive f32 and f16 on the CPU and on the broken copy (a failing cell), as a
/// record.
fn record(machine: &str) -> RunRecord {
    let backends: Vec<Arc<dyn Backend>> = vec![
        Arc::new(CpuBackend),
        Arc::new(SwappedB {
            inner: CpuBackend,
            name: "cpu-swapped-b",
        }),
    ];
    let plan = Plan {
        random_cases: 2,
        ..Plan::default()
    };
    let filter = |k: &CellKey| {
        k.op == Op::Matmul
            && k.kernel == "naive"
            && k.variant.path == crosscheck_spec::Path::Portable
            && matches!(k.variant.label().as_str(), "f32" | "f16")
    };
    let report = run_matrix(&backends, &plan, &filter, &());
    RunRecord::new(
        &report,
        RunContext {
            plan: &plan,
            selection: Selection::default(),
            missing: &[],
            required_missing: None,
            machine_name: Some(machine.into()),
        },
    )
}

/// The run page's cell keys, `op/kernel:backend:variant`.
fn run_keys(record: &RunRecord) -> Vec<(String, &CellRecord)> {
    record
        .cells
        .iter()
        .map(|c| (format!("{}:{}:{}", c.row(), c.backend, c.variant), c))
        .collect()
}

/// The merged page's cell keys, `op/kernel:machine/backend:variant`.
fn merged_keys(matrix: &MergedMatrix) -> Vec<(String, &CellRecord)> {
    matrix
        .rows
        .iter()
        .flat_map(|row| {
            matrix
                .columns
                .iter()
                .zip(&row.cells)
                .filter_map(|(col, c)| {
                    c.as_ref().map(|c| {
                        (
                            format!("{}/{}:{col}:{}", row.op, row.kernel, row.variant),
                            c,
                        )
                    })
                })
        })
        .collect()
}

/// `#cell=` for a key, as the page writes it.
fn fragment(key: &str) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("#cell={encoded}")
}

fn failing(record: &RunRecord) -> &CellRecord {
    record
        .cells
        .iter()
        .find(|c| c.verdict == CellVerdict::Fail)
        .expect("the swapped-B backend fails a cell")
}

fn run_page(browser: &Path) -> Result<(), Failed> {
    let record = record("box-a");
    let bad = failing(&record);
    let key = format!("{}:{}:{}", bad.row(), bad.backend, bad.variant);
    let html = render_run_html(&record);
    let loaded = load(browser, &scratch("run"), "run.html", &html, &fragment(&key));
    check_cells(&loaded.dom, &run_keys(&record))?;
    check_detail(&loaded.dom, bad)?;
    check_offline(&html, &loaded)?;
    Ok(())
}

fn merged_page(browser: &Path) -> Result<(), Failed> {
    let files: Vec<(String, String)> = ["box-a", "box-b"]
        .iter()
        .map(|m| {
            (
                format!("{m}.json"),
                serde_json::to_string(&record(m)).unwrap(),
            )
        })
        .collect();
    let matrix = merge(&files)?;
    let html = render_merged_html(&matrix);
    let bad = matrix
        .rows
        .iter()
        .find(|r| r.disagree)
        .ok_or("no disagreeing row")?;
    let (col, cell) = matrix
        .columns
        .iter()
        .zip(&bad.cells)
        .find_map(|(col, c)| {
            c.as_ref()
                .filter(|c| c.verdict == CellVerdict::Fail)
                .map(|c| (col, c))
        })
        .ok_or("no failing cell")?;
    let key = format!("{}/{}:{col}:{}", bad.op, bad.kernel, bad.variant);
    let loaded = load(
        browser,
        &scratch("merge"),
        "fleet.html",
        &html,
        &fragment(&key),
    );
    check_cells(&loaded.dom, &merged_keys(&matrix))?;
    check_detail(&loaded.dom, cell)?;
    check_offline(&html, &loaded)?;
    let flagged = loaded.dom.matches("<tr class=\"disagree\"").count();
    let disagree = matrix.disagreements().count();
    if flagged != disagree {
        return Err(format!("{flagged} rows highlighted, {disagree} disagree").into());
    }
    let section = &loaded.dom[loaded
        .dom
        .find("<h2>Disagreements</h2>")
        .ok_or("no Disagreements section")?..];
    for row in matrix.disagreements() {
        // The section names up to three case ids per cell; the cell's detail has them all.
        for failure in row
            .cells
            .iter()
            .flatten()
            .flat_map(|c| c.failures.iter().take(3))
        {
            if !section.contains(&text_node(&failure.case)) {
                return Err(format!("the disagreements lack case {}", failure.case).into());
            }
        }
    }
    Ok(())
}

/// A small bench record: two backends, a matmul at two sizes, portability and accuracy.
fn bench_report() -> BenchReport {
    let measurement = |backend: &str, size: f64, gflops: f64| Measurement {
        op: "matmul".into(),
        kernel: "tiled".into(),
        backend: backend.into(),
        variant: "f32".into(),
        workload: format!("{size}³"),
        size,
        flops: 2.0 * size * size * size,
        bytes: 12.0 * size * size,
        times_s: vec![2.0 * size * size * size / gflops / 1e9],
        median_s: 2.0 * size * size * size / gflops / 1e9,
        spread: 0.02,
        gflops,
        gbps: 1.0,
        roofline_fraction: Some(gflops / 100.0),
        note: None,
    };
    BenchReport {
        schema: "crosscheck-bench".into(),
        schema_version: 1,
        crosscheck_version: "test".into(),
        machine: "box-a".into(),
        backends: ["cpu", "wgpu-vulkan"]
            .iter()
            .map(|b| BackendPeak {
                backend: b.to_string(),
                device: "a device".into(),
                roofline: Some(Roofline {
                    gflops: 100.0,
                    gbps: 20.0,
                }),
                error: None,
            })
            .collect(),
        measurements: vec![
            measurement("cpu", 256.0, 20.0),
            measurement("cpu", 512.0, 30.0),
            measurement("wgpu-vulkan", 256.0, 5.0),
        ],
        portability: vec![Portability {
            kernel: "matmul/tiled".into(),
            variant: "f32".into(),
            workload: "256³".into(),
            fractions: vec![
                ("cpu".into(), Some(0.2)),
                ("wgpu-vulkan".into(), Some(0.05)),
            ],
            pennycook: 0.08,
        }],
        accuracy: vec![AccuracySample {
            precision: "f32".into(),
            ratios: vec![0.0, 0.1, 0.2],
        }],
        verification: None,
    }
}

fn bench_page(browser: &Path) -> Result<(), Failed> {
    let report = bench_report();
    let plot = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" \
                height=\"10\"><text id=\"the-plot\">GFLOP/s</text></svg>";
    let html = render_bench_html(&report, &[("gflops-cpu.svg".into(), plot.into())]);
    let loaded = load(browser, &scratch("bench"), "bench.html", &html, "");
    check_offline(&html, &loaded)?;
    let dom = &loaded.dom;
    let table = &dom[dom
        .find("id=\"measurements\"")
        .ok_or("no measurements table")?..];
    let rows = table[..table.find("</table>").unwrap()]
        .matches("<tr>")
        .count()
        - 1;
    if rows != report.measurements.len() {
        return Err(format!(
            "{rows} timed rows, {} in the record",
            report.measurements.len()
        )
        .into());
    }
    for needle in [
        "id=\"portability\"",
        "8.0%",
        "<text id=\"the-plot\">",
        "20.0%",
    ] {
        if !dom.contains(needle) {
            return Err(format!("the bench page lacks `{needle}`").into());
        }
    }
    Ok(())
}

/// The checks fail on a page that lacks a cell (dropped from the embedded record) or the failing
/// cell's first repro id (changed in the embedded record).
fn checks_catch_a_broken_page(browser: &Path) -> Result<(), Failed> {
    let record = record("box-a");
    let bad = failing(&record);
    let key = format!("{}:{}:{}", bad.row(), bad.backend, bad.variant);
    let dir = scratch("broken");
    let mut fewer = record.clone();
    fewer.cells.remove(0);
    let loaded = load(
        browser,
        &dir,
        "fewer.html",
        &render_run_html(&fewer),
        &fragment(&key),
    );
    match check_cells(&loaded.dom, &run_keys(&record)) {
        Err(e) if e.contains("no cell") => {}
        other => return Err(format!("a page without a cell passed the check: {other:?}").into()),
    }
    let mut wrong = record.clone();
    let cell = wrong
        .cells
        .iter_mut()
        .find(|c| c.verdict == CellVerdict::Fail)
        .unwrap();
    cell.failures[0].case.push_str("-other");
    cell.failures[0].repro = Some("crosscheck repro another-case".into());
    let loaded = load(
        browser,
        &dir,
        "wrong.html",
        &render_run_html(&wrong),
        &fragment(&key),
    );
    check_cells(&loaded.dom, &run_keys(&record))?;
    match check_detail(&loaded.dom, bad) {
        Err(e) if e.contains("lacks the repro command") => Ok(()),
        other => Err(format!("a page without a repro id passed the check: {other:?}").into()),
    }
}

/// A merge of 50 machines × 200 rows (10,000 cells, every 37th failing), loaded and then
/// filtered to half its columns: every cell is on the page, the filter leaves the 5,000 of the
/// cpu columns, and the times the page measured are printed.
fn ten_thousand_cells(browser: &Path) -> Result<(), Failed> {
    let base = record("box");
    let good = base
        .cells
        .iter()
        .find(|c| c.verdict == CellVerdict::Pass)
        .unwrap();
    let bad = failing(&base);
    let files: Vec<(String, String)> = (0..50)
        .map(|m| {
            let mut r = base.clone();
            r.machine.name = format!("box-{m:02}");
            r.cells = (0..200)
                .map(|k| {
                    let mut c = if (m * 200 + k) % 37 == 0 { bad } else { good }.clone();
                    c.kernel = format!("k{k:03}");
                    c.variant = "f32".into();
                    c.backend = if m % 2 == 0 { "cpu" } else { "wgpu-vulkan" }.into();
                    c
                })
                .collect();
            (
                format!("box-{m:02}.json"),
                serde_json::to_string(&r).unwrap(),
            )
        })
        .collect();
    let matrix = merge(&files)?;
    let html = render_merged_html(&matrix);
    let dir = scratch("10k");
    let loaded = load(browser, &dir, "fleet.html", &html, "#filter=backend:cpu");
    check_cells(&loaded.dom, &merged_keys(&matrix))?;
    let attr = |name: &str| -> String {
        let dom = &loaded.dom;
        let at = dom
            .find(&format!("data-{name}=\""))
            .map(|i| i + name.len() + 7);
        at.map_or("?".into(), |i| {
            dom[i..i + dom[i..].find('"').unwrap()].to_string()
        })
    };
    println!(
        "10,000-cell merge ({} bytes): rendered {} ms after navigation start (script {} ms), \
         then the filter backend=cpu in {} ms; browser wall {:.2} s",
        html.len(),
        attr("loaded-ms"),
        attr("render-ms"),
        attr("filter-ms"),
        loaded.wall.as_secs_f64(),
    );
    if !loaded.dom.contains("5000 of 10000 cells shown") {
        return Err("the filter did not leave the 5,000 cpu cells".into());
    }
    Ok(())
}

/// The CLI writes the page the library renders: `merge --out fleet.html` holds the merged
/// record, and `run --out x.html --out x.json` embeds exactly the JSON record it writes.
fn cli_writes_pages() -> Result<(), Failed> {
    let dir = scratch("cli");
    let bin = env!("CARGO_BIN_EXE_crosscheck");
    let run = Command::new(bin)
        .args([
            "run",
            "--backend",
            "cpu",
            "--op",
            "matmul",
            "--kernel",
            "naive",
            "--precision",
            "f32",
            "--cases",
            "0",
            "--machine",
            "box-a",
            "--out",
        ])
        .arg(dir.join("a.html"))
        .arg("--out")
        .arg(dir.join("a.json"))
        .env_remove("CROSSCHECK_REQUIRE")
        .output()?;
    if !run.status.success() {
        return Err(format!("run failed: {}", String::from_utf8_lossy(&run.stderr)).into());
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("a.json"))?)?;
    let page = std::fs::read_to_string(dir.join("a.html"))?;
    if embedded(&page)? != json {
        return Err("the page's record differs from the JSON report".into());
    }
    let mut b = json.clone();
    b["machine"]["name"] = "box-b".into();
    std::fs::write(dir.join("b.json"), b.to_string())?;
    let merged = Command::new(bin)
        .args(["merge"])
        .args([dir.join("a.json"), dir.join("b.json")])
        .arg("--out")
        .arg(dir.join("fleet.html"))
        .output()?;
    if !merged.status.success() {
        return Err(format!("merge failed: {}", String::from_utf8_lossy(&merged.stderr)).into());
    }
    let fleet = embedded(&std::fs::read_to_string(dir.join("fleet.html"))?)?;
    if fleet["columns"] != serde_json::json!(["box-a/cpu", "box-b/cpu"]) {
        return Err(format!("merged columns {}", fleet["columns"]).into());
    }
    Ok(())
}

/// The record a page embeds.
fn embedded(page: &str) -> Result<serde_json::Value, String> {
    let open = "<script type=\"application/json\" id=\"record\">";
    let start = page.find(open).ok_or("no embedded record")? + open.len();
    let end = start + page[start..].find("</script>").ok_or("unclosed record")?;
    serde_json::from_str(&page[start..end]).map_err(|e| format!("the embedded record: {e}"))
}

type Check = fn(&Path) -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let checks: [(&str, Check); 5] = [
        ("run_page_shows_every_cell_and_the_failing_detail", run_page),
        (
            "merged_page_shows_every_cell_and_the_disagreements",
            merged_page,
        ),
        ("bench_page_shows_the_timings_and_plots", bench_page),
        (
            "checks_catch_a_missing_cell_or_repro_id",
            checks_catch_a_broken_page,
        ),
        (
            "ten_thousand_cell_merge_renders_and_filters",
            ten_thousand_cells,
        ),
    ];
    let browser = browser();
    let required = std::env::var_os(REQUIRE_BROWSER).is_some_and(|v| !v.is_empty() && v != "0");
    let mut tests: Vec<(Trial, Option<String>)> = checks
        .into_iter()
        .map(|(name, check)| {
            let browser = browser.clone();
            let ignored = browser.as_ref().err().filter(|_| !required).cloned();
            let trial = Trial::test(name, move || match browser {
                Ok(b) => check(&b),
                Err(why) if required => Err(format!("{REQUIRE_BROWSER} is set but {why}").into()),
                Err(why) => {
                    println!("ignored: {why}");
                    Ok(())
                }
            })
            .with_ignored_flag(ignored.is_some());
            (trial, ignored)
        })
        .collect();
    tests.push((Trial::test("cli_writes_pages", cli_writes_pages), None));
    let conclusion = run_reporting_ignored(&args, tests, "ignored, and why:");
    if !conclusion.has_failed() {
        // The pages, DOMs and browser profiles stay behind only when something failed.
        let prefix = format!("crosscheck-html-{}-", std::process::id());
        for entry in std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    conclusion.exit();
}
