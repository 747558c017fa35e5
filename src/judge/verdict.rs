//! Verdicts: what went wrong (if anything), the worst element and its headroom.

use std::fmt;

use crosscheck_spec::KernelError;

use super::stats::Stats;

/// Which tier judged the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Integer inputs with exact partial sums: outputs must equal the oracle.
    Exact,
    /// Per-element bound from the declared contract.
    Bound,
}

/// One judged output element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementCheck {
    /// Flat index into the (row-major) output.
    pub index: usize,
    /// What the kernel wrote, decoded exactly.
    pub value: f64,
    /// The oracle's value.
    pub oracle: f64,
    /// Smallest acceptable output.
    pub lo: f64,
    /// Largest acceptable output.
    pub hi: f64,
    /// err/bound: ≤ 1 passes.
    pub ratio: f64,
    /// The element still held the poison pattern.
    pub unwritten: bool,
    /// The element was written although the problem says to leave it untouched (its oracle,
    /// `lo` and `hi` are NaN: it has no value to be judged against).
    pub touched: bool,
}

/// Why a case failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Elements outside their allowed interval.
    Mismatch {
        /// How many.
        count: usize,
    },
    /// Elements the kernel never wrote.
    Unwritten {
        /// How many.
        count: usize,
        /// The first one's flat index.
        first: usize,
    },
    /// Elements written that the problem says to leave untouched (padding rows of a grouped
    /// GEMM declared `untouched`).
    Touched {
        /// How many.
        count: usize,
        /// The first one's flat index.
        first: usize,
    },
    /// Guard bytes after the output changed.
    OutOfBounds {
        /// How many guard bytes changed.
        bytes: usize,
        /// Byte offset (from the start of the output) of the first.
        first_offset: usize,
    },
    /// The backend panicked.
    Panicked(String),
    /// The backend returned an error.
    Error(KernelError),
    /// A rerun of the case, or a smaller launch computing part of it, failed.
    Rerun {
        /// Which launch.
        launch: String,
        /// How it failed.
        failure: Box<Failure>,
    },
    /// A rerun's bits differ where the kernel promised they would not.
    Differs {
        /// The promise: `deterministic` or `batch-invariant`.
        property: String,
        /// Which launch.
        launch: String,
        /// Where and by how much.
        detail: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Mismatch { count } => write!(f, "{count} element(s) outside the bound"),
            Failure::Unwritten { count, first } => {
                write!(f, "{count} element(s) never written (first: #{first})")
            }
            Failure::Touched { count, first } => write!(
                f,
                "{count} element(s) written that must be left untouched (first: #{first})"
            ),
            Failure::OutOfBounds {
                bytes,
                first_offset,
            } => {
                write!(
                    f,
                    "out-of-bounds write: {bytes} guard byte(s) changed, first at byte {first_offset}"
                )
            }
            Failure::Panicked(msg) => write!(f, "backend panicked: {msg}"),
            Failure::Error(e) => write!(f, "{e}"),
            Failure::Rerun { launch, failure } => write!(f, "{launch}: {failure}"),
            Failure::Differs {
                property,
                launch,
                detail,
            } => write!(f, "declared {property}, but {launch} differs: {detail}"),
        }
    }
}

/// The judgement of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Tier that judged it.
    pub tier: Tier,
    /// Empty when the case passed.
    pub failures: Vec<Failure>,
    /// Output elements judged.
    pub elements: usize,
    /// Elements with ratio > 1 (or unwritten, or written where they must be left untouched).
    pub failing: usize,
    /// Largest err/bound ratio over all elements.
    pub worst_ratio: f64,
    /// NMSE and max ULP error.
    pub stats: Stats,
    /// The worst elements, worst first.
    pub top: Vec<ElementCheck>,
    /// Portability findings: legitimate differences from IEEE behaviour the contract allows
    /// (e.g. subnormals flushed), reported rather than passed or failed.
    pub findings: Vec<String>,
    /// Differences between launches the kernel does not promise away (it is not declared
    /// deterministic or batch-invariant): reported, not judged.
    pub notes: Vec<String>,
}

impl Verdict {
    /// A verdict for a case whose kernel produced no output.
    pub fn no_output(tier: Tier, failure: Failure) -> Verdict {
        Verdict {
            tier,
            failures: vec![failure],
            elements: 0,
            failing: 0,
            worst_ratio: f64::INFINITY,
            stats: Stats::default(),
            top: Vec::new(),
            findings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The worst element, if any output was judged.
    pub fn worst(&self) -> Option<&ElementCheck> {
        self.top.first()
    }
}
