//! Bounded memory: the host memory a case needs, estimated from its id before anything is
//! generated, and the limit past which the harness refuses the case instead of running it.
//!
//! An id can name any size (`b1m100000n100000k2` asks for a 40 GB output, and the oracle and the
//! judge keep several f64 values per output element on top), so every path that turns an id or a
//! size into buffers checks [`case_bytes`] (or, for the bench's timed launches and its
//! verification, [`launch_bytes`] and the bench's own sum) against [`max_memory`] first:
//!
//! - `crosscheck repro` of a case past the limit exits with code 2 and the [`MemoryLimit`]
//!   error: the case was not run, so it neither passed nor failed.
//! - In the matrix, the soak, the cell tests and the shrinker, [`crate::run::cell::run_observed`]
//!   gives such a case [`crate::CaseResult::NotApplicable`] with the error as its reason: it is
//!   listed as skipped with the reason, never counted as passed (and a cell whose every case is
//!   skipped is n/a).
//! - `crosscheck bench` refuses `--sizes` and `--verify-size` past the limit up front (exit 2).
//!
//! The limit is `--max-memory SIZE` (run, repro, soak, bench), else the environment variable
//! [`MAX_MEMORY_VAR`] (so library users and `cargo test` get it too), else half the physical
//! memory (Linux: `MemTotal` of /proc/meminfo, lowered to a cgroup memory limit if there is one;
//! elsewhere [`FALLBACK_PHYSICAL`]). The limit is per case: the soak runs several cases at once.

use std::sync::{OnceLock, RwLock};

use crosscheck_spec::{Problem, Variant};

use crate::case::Case;
use crate::guards::GUARD_BYTES;
use crate::judge::ElementCheck;

/// Environment variable with the memory limit of one case, in the syntax of [`parse_size`].
pub const MAX_MEMORY_VAR: &str = "CROSSCHECK_MAX_MEMORY";

/// Physical memory assumed where it cannot be read (not Linux, or no /proc): the default limit
/// is half of it, 8 GiB.
pub const FALLBACK_PHYSICAL: u128 = 16 << 30;

/// The safety factor on every estimate, as numerator and denominator: 3/2. The sums below count
/// the buffers a case allocates as if all were alive at once (more than the real peak), and the
/// factor covers what they leave out: allocator slack, vectors that grow by doubling, a
/// backend's own host copies (packed f16 words, device staging buffers) and the report.
pub const SAFETY_FACTOR: (u128, u128) = (3, 2);

/// A case (or a bench size) that needs more memory than the limit: it is refused, not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the case needs about {} of memory; the limit is {} (--max-memory or CROSSCHECK_MAX_MEMORY)",
    human_bytes(*need),
    human_bytes(*limit)
)]
pub struct MemoryLimit {
    /// The estimate, in bytes.
    pub need: u128,
    /// The limit, in bytes.
    pub limit: u128,
}

/// `Err` when `need` is past `limit`.
pub fn check(need: u128, limit: u128) -> Result<(), MemoryLimit> {
    if need > limit {
        Err(MemoryLimit { need, limit })
    } else {
        Ok(())
    }
}

/// The limit set by `--max-memory`, which takes precedence over the environment.
static OVERRIDE: RwLock<Option<u128>> = RwLock::new(None);

/// Sets (or, with `None`, clears) the process-wide limit that takes precedence over
/// [`MAX_MEMORY_VAR`]: what `--max-memory` does.
pub fn set_max_memory(limit: Option<u128>) {
    *OVERRIDE.write().unwrap_or_else(|e| e.into_inner()) = limit;
}

/// The memory limit of one case: [`set_max_memory`]'s, else [`MAX_MEMORY_VAR`]'s, else
/// [`default_max_memory`]. `Err` names the variable when its value is not a size.
pub fn max_memory() -> Result<u128, String> {
    if let Some(limit) = *OVERRIDE.read().unwrap_or_else(|e| e.into_inner()) {
        return Ok(limit);
    }
    match std::env::var(MAX_MEMORY_VAR) {
        Ok(value) => parse_size(&value).map_err(|e| format!("{MAX_MEMORY_VAR}: {e}")),
        Err(std::env::VarError::NotPresent) => Ok(default_max_memory()),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("{MAX_MEMORY_VAR} is not valid Unicode"))
        }
    }
}

/// Half the physical memory ([`physical_memory`]), read once.
pub fn default_max_memory() -> u128 {
    static DEFAULT: OnceLock<u128> = OnceLock::new();
    *DEFAULT.get_or_init(|| physical_memory() / 2)
}

/// The machine's memory: on Linux `MemTotal` from /proc/meminfo, lowered to the cgroup's
/// memory limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when one is set; otherwise
/// [`FALLBACK_PHYSICAL`].
pub fn physical_memory() -> u128 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_total(&text))
        .unwrap_or(FALLBACK_PHYSICAL);
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .filter_map(|text| text.trim().parse::<u128>().ok())
    .min();
    cgroup.map_or(total, |limit| total.min(limit))
}

/// `MemTotal` in bytes from the text of /proc/meminfo (`MemTotal:  24684084 kB`).
fn meminfo_total(meminfo: &str) -> Option<u128> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line["MemTotal:".len()..].split_whitespace();
    let value: u128 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => Some(value * 1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// Parses a size: bytes (`1048576`), or a number (decimals allowed) with a unit: `K`, `M`, `G`,
/// `T` and `KiB` … `TiB` are powers of 1024, `KB` … `TB` powers of 1000 (case-insensitive), e.g.
/// `512M`, `4G`, `4GiB`, `1.5GB`. The size must be at least one byte.
pub fn parse_size(text: &str) -> Result<u128, String> {
    let bad = || {
        format!(
            "`{text}` is not a size (use bytes or a number with a unit, e.g. 512M, 4G, 4GiB, 2GB)"
        )
    };
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim());
    let scale: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    let bytes = match number.split_once('.') {
        None => number
            .parse::<u128>()
            .map_err(|_| bad())?
            .checked_mul(scale)
            .ok_or_else(bad)?,
        Some((whole, fraction)) => {
            let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
            if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
                return Err(bad());
            }
            let value: f64 = number.parse().map_err(|_| bad())?;
            let bytes = value * scale as f64;
            if !bytes.is_finite() || bytes >= u128::MAX as f64 {
                return Err(bad());
            }
            bytes.round() as u128
        }
    };
    if bytes == 0 {
        return Err(format!(
            "`{text}` is zero bytes: the limit must be positive"
        ));
    }
    Ok(bytes)
}

/// `1.5 GiB`, `640 bytes`: a byte count in powers of 1024, one decimal.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 8] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in UNITS {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{:.1e} bytes", bytes as f64)
}

/// The peak host memory `case` needs, in bytes: [`problem_bytes`] of its problem and variant.
pub fn case_bytes(case: &Case) -> u128 {
    problem_bytes(&case.problem, case.variant)
}

/// The peak host memory a case of `problem` in `variant` needs, in bytes, with saturating
/// arithmetic (an id can name sizes whose products overflow any integer). With `I` input values
/// (`S` bytes stored), `O` output elements of `P` bytes and `W` bytes of per-row scratch:
///
/// ```text
/// need = 3/2 · ( 3·S            stored inputs: the case's, and two copies during the rerun
///              + 12·I           inputs decoded: f32 (generation, kernel), f64 (oracle)
///              + 2·(P·O + 256)  the guarded output, and the rerun's
///              + (4 + 40 + 56)·O  the kernel's f32 result; f64 oracle value, gauge and
///                               allowance, decoded output, unwritten index; the judge's check
///              + W )            matmul: B as f64 rows (8·k·n) and the kernel's f32 columns
///                               (4·k·n); attention: one query row's keys, scores, weights and
///                               values, twice for growth (16·len_kv·(d_v + 4))
/// ```
///
/// (56 is the size of [`ElementCheck`]; 256 is [`GUARD_BYTES`].) Smaller launches of the
/// invariance reruns compute part of the output again and fit inside the second output.
pub fn problem_bytes(problem: &Problem, variant: Variant) -> u128 {
    let f = Footprint::of(problem, variant);
    let per_output = 4 + 5 * 8 + std::mem::size_of::<ElementCheck>() as u128;
    let sum = [
        f.stored.saturating_mul(3),
        f.values.saturating_mul(12),
        f.output_bytes().saturating_mul(2),
        f.outputs.saturating_mul(per_output),
        f.scratch,
    ]
    .into_iter()
    .fold(0, u128::saturating_add);
    with_safety(sum)
}

/// The host memory one timed launch of `problem` needs, without the oracle and the judge (what
/// `crosscheck bench` allocates per workload): the stored inputs, their values in f32 while they
/// are drawn and while the kernel reads them, the output, the kernel's f32 result and its scratch,
/// times [`SAFETY_FACTOR`].
pub fn launch_bytes(problem: &Problem, variant: Variant) -> u128 {
    let f = Footprint::of(problem, variant);
    let sum = [
        f.stored,
        f.values.saturating_mul(8),
        f.output_bytes(),
        f.outputs.saturating_mul(4),
        f.scratch,
    ]
    .into_iter()
    .fold(0, u128::saturating_add);
    with_safety(sum)
}

/// `bytes` times [`SAFETY_FACTOR`], saturating.
pub fn with_safety(bytes: u128) -> u128 {
    let (numerator, denominator) = SAFETY_FACTOR;
    (bytes / denominator)
        .saturating_mul(numerator)
        .saturating_add(bytes % denominator * numerator / denominator)
}

/// The product of `dims`, saturating.
pub fn product(dims: &[usize]) -> u128 {
    dims.iter()
        .fold(1u128, |acc, &d| acc.saturating_mul(d as u128))
}

/// The sizes a memory estimate is made of (each op family gives its own).
pub struct Footprint {
    /// Input values (decoded count: quantized bytes count as the values they hold).
    pub values: u128,
    /// Stored input bytes.
    pub stored: u128,
    /// Output elements.
    pub outputs: u128,
    /// Bytes per output element.
    pub output_size: u128,
    /// Per-row or per-matrix working memory of the oracle and the kernels.
    pub scratch: u128,
}

impl Footprint {
    fn of(problem: &Problem, variant: Variant) -> Footprint {
        crate::ops::of(problem).footprint(problem, variant)
    }

    /// The guarded output buffer.
    fn output_bytes(&self) -> u128 {
        self.outputs
            .saturating_mul(self.output_size)
            .saturating_add(GUARD_BYTES as u128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosscheck_spec::{
        AttentionProblem, Layout, MatmulProblem, Precision, QuantFormat, QuantizeProblem,
    };

    fn matmul(batch: usize, m: usize, n: usize, k: usize) -> Problem {
        Problem::Matmul(MatmulProblem {
            batch,
            m,
            n,
            k,
            a_layout: Layout::RowMajor,
            b_layout: Layout::RowMajor,
            b_broadcast: false,
        })
    }

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("4gib"), Ok(4 << 30));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size(" 8 KiB "), Ok(8192));
        for garbage in ["", "x", "G", "4X", "-1G", "1.2.3G", ".", "0", "0M", "1e9"] {
            assert!(parse_size(garbage).is_err(), "`{garbage}` parsed");
        }
        assert!(parse_size("99999999999999999999999999999999999999999T").is_err());
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(640), "640 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12 << 30), "12.0 GiB");
        assert!(human_bytes(u128::MAX).ends_with("e38 bytes"));
    }

    #[test]
    fn meminfo_gives_the_total_in_bytes() {
        let text = "MemTotal:       24684084 kB\nMemFree:        17743112 kB\n";
        assert_eq!(meminfo_total(text), Some(24684084 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
        assert!(physical_memory() > 0);
    }

    #[test]
    fn the_error_names_need_and_limit() {
        let e = check(3 << 30, 1 << 30).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the case needs about 3.0 GiB of memory; the limit is 1.0 GiB (--max-memory or CROSSCHECK_MAX_MEMORY)"
        );
        assert!(check(1 << 30, 1 << 30).is_ok());
    }

    #[test]
    fn estimates_grow_with_the_problem_and_saturate() {
        let f32 = Variant::portable(Precision::F32);
        let sizes: Vec<u128> = [1, 16, 256, 4096]
            .iter()
            .map(|&s| problem_bytes(&matmul(1, s, s, s), f32))
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
        // The 40 GB output of the issue's id, and what the oracle and judge keep per element.
        let big = problem_bytes(&matmul(1, 100_000, 100_000, 2), f32);
        assert!(big > 40_000_000_000 * 20, "{big}");
        assert_eq!(
            problem_bytes(&matmul(usize::MAX, usize::MAX, usize::MAX, usize::MAX), f32),
            u128::MAX
        );
        let huge = AttentionProblem {
            batch: usize::MAX,
            heads_q: usize::MAX,
            heads_kv: usize::MAX,
            len_q: usize::MAX,
            len_kv: usize::MAX,
            d_qk: usize::MAX,
            d_v: usize::MAX,
            causal: false,
            window: None,
            scale_bits: None,
        };
        assert_eq!(problem_bytes(&Problem::Attention(huge), f32), u128::MAX);
        let quant = QuantizeProblem {
            format: QuantFormat::Fp8E4M3Block,
            rows: usize::MAX,
            cols: usize::MAX,
        };
        assert_eq!(problem_bytes(&Problem::Quantize(quant), f32), u128::MAX);
        assert_eq!(launch_bytes(&Problem::dequantize(quant), f32), u128::MAX);
        assert_eq!(with_safety(u128::MAX), u128::MAX);
        assert_eq!(with_safety(10), 15);
    }

    #[test]
    fn a_narrower_precision_needs_less() {
        let p = matmul(2, 300, 300, 300);
        let f32 = problem_bytes(&p, Variant::portable(Precision::F32));
        let f16 = problem_bytes(&p, Variant::portable(Precision::F16));
        assert!(f16 < f32);
        assert!(launch_bytes(&p, Variant::portable(Precision::F32)) < f32);
    }
}
