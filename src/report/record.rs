//! The run record: the complete, versioned JSON form of a matrix run (`--format json`), the
//! interchange format that `crosscheck merge` reads back. Its schema is documented in
//! `docs/report-schema.md`; any change to a field's meaning bumps [`SCHEMA_VERSION`].

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::judge::stats::QuantizationError;
use crate::report::case::{element_label, summary};
use crate::run::{CellFilter, CellKey, CellMeasures, CellStatus, MatrixReport, Plan};

/// Value of the `schema` field of every run record.
pub const SCHEMA: &str = "crosscheck-run";
/// Version of the record's layout; readers reject other versions.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a file is not a run record this build reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// Another schema's JSON.
    #[error("schema is `{0}`, not `crosscheck-run`")]
    Schema(String),
    /// JSON without a `schema` field.
    #[error("no `schema` field: not a crosscheck-run record")]
    NoSchema,
    /// A record of another schema version.
    #[error(
        "schema version {0}; this crosscheck reads version {SCHEMA_VERSION} (re-run with a matching crosscheck, or convert)"
    )]
    Version(u64),
    /// No numeric `schema_version`.
    #[error("no numeric `schema_version` field")]
    NoVersion,
    /// A field of the wrong type or missing.
    #[error("malformed crosscheck-run record at `{path}`: {message}")]
    Malformed {
        /// Where, e.g. `cells[3].verdict`.
        path: String,
        /// What serde said.
        message: String,
    },
}

/// One matrix run, complete.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// Version of crosscheck that ran.
    pub crosscheck_version: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// Start of the run, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// The plan: seed and random cases per cell.
    pub plan: PlanRecord,
    /// The filters that selected the cells (absent: no filter).
    pub selection: Selection,
    /// Backends that ran.
    pub backends: Vec<BackendRecord>,
    /// Expected backends that were not found, with the reason.
    pub missing: Vec<MissingRecord>,
    /// Every cell that was selected.
    pub cells: Vec<CellRecord>,
    /// Counts over the cells.
    pub summary: Summary,
}

/// The machine a run came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// Host name (`HOSTNAME`, `/etc/hostname`, or "unknown"); `--machine` overrides it.
    pub name: String,
    /// Operating system (Rust's `std::env::consts::OS`).
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Hardware threads available to the run.
    pub threads: usize,
}

/// The plan of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanRecord {
    /// Seed of every random case and input.
    pub seed: u64,
    /// Random cases per cell on top of the fixed edge cases.
    pub random_cases: usize,
}

/// The cell selection of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Selection {
    /// `--op`.
    pub op: Option<String>,
    /// `--kernel`.
    pub kernel: Option<String>,
    /// `--backend`.
    pub backend: Option<String>,
    /// `--precision`.
    pub precision: Option<String>,
    /// `--shard K/N`.
    pub shard: Option<String>,
}

/// A backend that ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackendRecord {
    /// Backend name, e.g. `wgpu-vulkan`.
    pub name: String,
    /// API, e.g. `vulkan`.
    pub api: String,
    /// Adapter or device name.
    pub device: String,
    /// Driver name and version.
    pub driver: String,
    /// The variants its kernels are built for, in column order (empty in records written
    /// before it was added).
    #[serde(default)]
    pub variants: Vec<String>,
}

/// An expected backend that was not found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MissingRecord {
    /// Name it would have had.
    pub backend: String,
    /// Why it is missing.
    pub reason: String,
    /// How to fix it.
    pub hint: String,
}

/// A cell's verdict.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CellVerdict {
    /// Every case passed.
    Pass,
    /// At least one case failed.
    Fail,
    /// No failure, but a portability finding.
    Finding,
    /// The cell cannot run on this backend.
    NotApplicable,
}

impl CellVerdict {
    /// `PASS`, `FAIL`, `FIND`, `n/a`.
    pub fn label(self) -> &'static str {
        match self {
            CellVerdict::Pass => "PASS",
            CellVerdict::Fail => "FAIL",
            CellVerdict::Finding => "FIND",
            CellVerdict::NotApplicable => "n/a",
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellRecord {
    /// Op family, e.g. `matmul`.
    pub op: String,
    /// Kernel name, e.g. `tiled`.
    pub kernel: String,
    /// Backend name.
    pub backend: String,
    /// Variant label (`f32`, `f16`, `f16n`, `bf16`).
    pub variant: String,
    /// The verdict.
    pub verdict: CellVerdict,
    /// Cases judged.
    pub cases: usize,
    /// Largest err/bound ratio over the judged cases (≤ 1 passes; "inf" when no output).
    #[serde(with = "json_float")]
    pub worst_ratio: f64,
    /// Every judged case was judged bit for bit.
    pub exact_only: bool,
    /// The worst element of the worst case.
    pub worst: Option<WorstElement>,
    /// Summary statistics (reported, never judged).
    pub stats: CellStats,
    /// How the judged cases' worst err/bound ratios are distributed (empty in records written
    /// before it was added).
    #[serde(default)]
    pub histogram: RatioHistogram,
    /// Failing cases: id (give it to `crosscheck repro`), what failed, the repro command and
    /// the case's worst elements.
    pub failures: Vec<CaseNote>,
    /// Smaller failing cases that failures shrank to (`from` names the original).
    #[serde(default)]
    pub shrunk: Vec<CaseNote>,
    /// Cases with portability findings.
    pub findings: Vec<CaseNote>,
    /// Cases whose launches differ where the kernel does not promise otherwise (`†`).
    pub launch_notes: Vec<CaseNote>,
    /// Planned cases the backend could not run, with the reason.
    pub skipped: Vec<CaseNote>,
    /// Why the cell is not applicable.
    pub reason: Option<String>,
    /// Wall time of the cell, seconds.
    pub wall_s: f64,
    /// Time inside the backend's `run` (first launch of each case), seconds.
    pub kernel_s: f64,
}

impl CellRecord {
    /// `op/kernel`.
    pub fn row(&self) -> String {
        format!("{}/{}", self.op, self.kernel)
    }

    /// The text of the matrix cell: `PASS 0.42`, `PASS exact`, `FAIL`, `FIND`, `n/a`.
    pub fn short(&self) -> String {
        match self.verdict {
            CellVerdict::Pass if self.exact_only => "PASS exact".into(),
            CellVerdict::Pass => format!("PASS {:.2}", self.worst_ratio),
            other => other.label().into(),
        }
    }
}

/// A case and something said about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseNote {
    /// The case id, e.g. `matmul.tiled:wgpu-vulkan:f16:b1m7n5k3.cr:exact:0x5eee`.
    pub case: String,
    /// What happened.
    pub text: String,
    /// The command that replays the case (failures, findings and shrunk cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repro: Option<String>,
    /// The case's worst elements, worst first (failures and shrunk cases; at most
    /// [`WORST_PER_CASE`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worst: Vec<WorstElement>,
    /// For a shrunk case: the failing case it was shrunk from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Worst elements kept per failing case in the record.
pub const WORST_PER_CASE: usize = 5;

/// Upper edges of the err/bound histogram's bins: a case falls in the first bin whose edge is at
/// least its worst ratio; ratios above the last edge (and NaN) fall in one more bin.
pub const HISTOGRAM_EDGES: [f64; 9] = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 2.0, 10.0];

/// How many judged cases of a cell had their worst err/bound ratio in each bin.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RatioHistogram {
    /// Upper edge of each bin ([`HISTOGRAM_EDGES`]); the last count is for ratios above the
    /// last edge.
    pub upper: Vec<f64>,
    /// Cases per bin: one more than `upper`.
    pub counts: Vec<usize>,
}

impl RatioHistogram {
    /// The histogram of `ratios` over [`HISTOGRAM_EDGES`].
    pub fn of(ratios: &[f64]) -> RatioHistogram {
        let mut counts = vec![0; HISTOGRAM_EDGES.len() + 1];
        for &r in ratios {
            let bin = HISTOGRAM_EDGES
                .iter()
                .position(|&edge| r <= edge)
                .unwrap_or(HISTOGRAM_EDGES.len());
            counts[bin] += 1;
        }
        RatioHistogram {
            upper: HISTOGRAM_EDGES.to_vec(),
            counts,
        }
    }
}

/// The element with the largest err/bound ratio in a cell (equal to another when every field is,
/// NaN values counting as equal, so a record equals itself read back).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorstElement {
    /// The case it is in.
    pub case: String,
    /// Where it sits, e.g. `C[0,3,4]`.
    pub element: String,
    /// Flat output index.
    pub index: usize,
    /// The kernel's value (non-finite values as the strings "NaN", "inf", "-inf").
    #[serde(with = "json_float")]
    pub value: f64,
    /// The oracle's value.
    #[serde(with = "json_float")]
    pub oracle: f64,
    /// Lowest allowed value.
    #[serde(with = "json_float")]
    pub lo: f64,
    /// Highest allowed value.
    #[serde(with = "json_float")]
    pub hi: f64,
    /// err/bound.
    #[serde(with = "json_float")]
    pub ratio: f64,
    /// The element was never written.
    pub unwritten: bool,
    /// The element was written although the problem says to leave it untouched (added with the
    /// MoE grouped GEMMs; absent in older records, read as false).
    #[serde(default)]
    pub touched: bool,
}

impl PartialEq for WorstElement {
    fn eq(&self, other: &WorstElement) -> bool {
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        self.case == other.case
            && self.element == other.element
            && self.index == other.index
            && same(self.value, other.value)
            && same(self.oracle, other.oracle)
            && same(self.lo, other.lo)
            && same(self.hi, other.hi)
            && same(self.ratio, other.ratio)
            && self.unwritten == other.unwritten
            && self.touched == other.touched
    }
}

/// Summary statistics of a cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellStats {
    /// Largest normalised mean squared error of a case.
    #[serde(with = "json_float")]
    pub max_nmse: f64,
    /// Largest error in output ulps of a case.
    #[serde(with = "json_float")]
    pub max_ulp: f64,
    /// Quantized matmuls: the largest error of a case against the f64 product of the
    /// unquantized inputs — the quantization error the user pays (reported, never judged;
    /// absent for other ops and in records written before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization_error: Option<QuantizationError>,
}

/// Counts over the cells of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Cells selected.
    pub cells: usize,
    /// Cases judged.
    pub cases: usize,
    /// Cells by verdict.
    pub pass: usize,
    /// Failing cells.
    pub fail: usize,
    /// Cells with findings.
    pub finding: usize,
    /// Cells not applicable.
    pub not_applicable: usize,
    /// Required backends that are missing (`CROSSCHECK_REQUIRE`), as the error says.
    pub required_missing: Option<String>,
}

/// Everything about a run that is not in the [`MatrixReport`] itself.
pub struct RunContext<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The filters.
    pub selection: Selection,
    /// Expected backends not found (already filtered to the selection).
    pub missing: &'a [MissingRecord],
    /// The error for missing required backends, if any.
    pub required_missing: Option<String>,
    /// Machine name override.
    pub machine_name: Option<String>,
}

impl RunRecord {
    /// The record of a run made by a library caller: `plan`, no filters, no missing backends.
    pub fn of_report(report: &MatrixReport, plan: &Plan) -> RunRecord {
        RunRecord::new(
            report,
            RunContext {
                plan,
                selection: Selection::default(),
                missing: &[],
                required_missing: None,
                machine_name: None,
            },
        )
    }

    /// The record of a finished run.
    pub fn new(report: &MatrixReport, context: RunContext) -> RunRecord {
        let cells: Vec<CellRecord> = report
            .cells
            .iter()
            .zip(&report.measures)
            .map(|((key, status), measures)| cell_record(key, status, measures))
            .collect();
        let count = |v: CellVerdict| cells.iter().filter(|c| c.verdict == v).count();
        let summary = Summary {
            cells: cells.len(),
            cases: cells.iter().map(|c| c.cases).sum(),
            pass: count(CellVerdict::Pass),
            fail: count(CellVerdict::Fail),
            finding: count(CellVerdict::Finding),
            not_applicable: count(CellVerdict::NotApplicable),
            required_missing: context.required_missing,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        RunRecord {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION,
            crosscheck_version: env!("CARGO_PKG_VERSION").into(),
            machine: Machine::this(context.machine_name),
            started_unix_s: now.saturating_sub(report.elapsed).as_secs(),
            elapsed_s: report.elapsed.as_secs_f64(),
            plan: PlanRecord {
                seed: context.plan.seed,
                random_cases: context.plan.random_cases,
            },
            selection: context.selection,
            backends: report
                .backends
                .iter()
                .map(|b| BackendRecord {
                    name: b.name.clone(),
                    api: b.device.api.clone(),
                    device: b.device.device.clone(),
                    driver: b.device.driver.clone(),
                    variants: b.variants.iter().map(|v| v.label()).collect(),
                })
                .collect(),
            missing: context.missing.to_vec(),
            cells,
            summary,
        }
    }

    /// True when the run should fail a CI job: a failing cell or a missing required backend.
    pub fn failed(&self) -> bool {
        self.summary.fail > 0 || self.summary.required_missing.is_some()
    }

    /// Reads a record, rejecting anything that is not a run record of this schema version.
    pub fn from_json(text: &str) -> Result<RunRecord, RecordError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RecordError::NotJson(e.to_string()))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => return Err(RecordError::Schema(other.to_string())),
            None => return Err(RecordError::NoSchema),
        }
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => return Err(RecordError::Version(v)),
            None => return Err(RecordError::NoVersion),
        }
        serde_path_to_error::deserialize(value).map_err(|e| RecordError::Malformed {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }
}

impl Machine {
    /// This machine, named `name` if given.
    fn this(name: Option<String>) -> Machine {
        let name = name
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            name,
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Selection {
    /// The selection of `filter` and `shard`.
    pub fn of(filter: &CellFilter, shard: Option<String>) -> Selection {
        Selection {
            op: filter.op.map(|o| o.to_string()),
            kernel: filter.kernel.clone(),
            backend: filter.backend.clone(),
            precision: filter.variant.map(|v| v.label().to_string()),
            shard,
        }
    }
}

fn cell_record(key: &CellKey, status: &CellStatus, measures: &CellMeasures) -> CellRecord {
    let notes = |list: &[(crate::case::Case, String)]| -> Vec<CaseNote> {
        list.iter()
            .map(|(case, text)| CaseNote {
                case: case.id(),
                text: text.clone(),
                repro: None,
                worst: Vec::new(),
                from: None,
            })
            .collect()
    };
    let mut record = CellRecord {
        op: key.op.to_string(),
        kernel: key.kernel.clone(),
        backend: key.backend.clone(),
        variant: key.variant.label().to_string(),
        verdict: CellVerdict::NotApplicable,
        cases: status.cases(),
        worst_ratio: 0.0,
        exact_only: false,
        worst: measures
            .worst
            .as_ref()
            .map(|(case, e)| worst_element(case, e)),
        stats: CellStats {
            max_nmse: measures.max_nmse,
            max_ulp: measures.max_ulp,
            quantization_error: measures.quantization,
        },
        histogram: RatioHistogram::of(&measures.case_ratios),
        failures: Vec::new(),
        shrunk: Vec::new(),
        findings: Vec::new(),
        launch_notes: Vec::new(),
        skipped: Vec::new(),
        reason: None,
        wall_s: measures.wall.as_secs_f64(),
        kernel_s: measures.kernel_time.as_secs_f64(),
    };
    match status {
        CellStatus::Pass {
            worst_ratio,
            exact_only,
            skipped,
            notes: launch,
            ..
        } => {
            record.verdict = CellVerdict::Pass;
            record.worst_ratio = *worst_ratio;
            record.exact_only = *exact_only;
            record.skipped = notes(skipped);
            record.launch_notes = notes(launch);
        }
        CellStatus::Fail {
            failures,
            skipped,
            notes: launch,
            shrunk,
            ..
        } => {
            record.verdict = CellVerdict::Fail;
            record.worst_ratio = measures
                .worst
                .as_ref()
                .map_or(f64::INFINITY, |(_, e)| e.ratio);
            record.failures = failures
                .iter()
                .map(|(case, verdict)| failing_note(case, verdict))
                .collect();
            record.shrunk = shrunk
                .iter()
                .map(|s| CaseNote {
                    from: Some(s.original.id()),
                    ..failing_note(&s.case, &s.verdict)
                })
                .collect();
            record.skipped = notes(skipped);
            record.launch_notes = notes(launch);
        }
        CellStatus::Finding {
            findings,
            skipped,
            notes: launch,
            ..
        } => {
            record.verdict = CellVerdict::Finding;
            record.worst_ratio = measures.worst.as_ref().map_or(0.0, |(_, e)| e.ratio);
            record.findings = notes(findings)
                .into_iter()
                .map(|note| CaseNote {
                    repro: Some(crate::backends::repro_command(&note.case)),
                    ..note
                })
                .collect();
            record.skipped = notes(skipped);
            record.launch_notes = notes(launch);
        }
        CellStatus::NotApplicable(reason) => record.reason = Some(reason.clone()),
    }
    record
}

/// A failing case as the record lists it: its summary, repro command and worst elements.
fn failing_note(case: &crate::case::Case, verdict: &crate::judge::Verdict) -> CaseNote {
    CaseNote {
        case: case.id(),
        text: summary(case, verdict),
        repro: Some(crate::backends::repro_command(&case.id())),
        worst: verdict
            .top
            .iter()
            .take(WORST_PER_CASE)
            .map(|e| worst_element(case, e))
            .collect(),
        from: None,
    }
}

/// An element check as the record writes it.
fn worst_element(case: &crate::case::Case, e: &crate::judge::ElementCheck) -> WorstElement {
    WorstElement {
        case: case.id(),
        element: element_label(&case.problem, e.index),
        index: e.index,
        value: e.value,
        oracle: e.oracle,
        lo: e.lo,
        hi: e.hi,
        ratio: e.ratio,
        unwritten: e.unwritten,
        touched: e.touched,
    }
}

/// f64 fields as JSON numbers, with NaN and ±∞ (which JSON lacks) as the strings "NaN", "inf",
/// "-inf".
pub(crate) mod json_float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_nan() {
            s.serialize_str("NaN")
        } else if x.is_infinite() {
            s.serialize_str(if *x > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(*x)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Float {
            Number(f64),
            Text(String),
        }
        match Float::deserialize(d)? {
            Float::Number(x) => Ok(x),
            Float::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, \"NaN\", \"inf\" or \"-inf\", got \"{other}\""
                ))),
            },
        }
    }
}
