//! Output guards: a poison pattern in every output element (catches elements a kernel never
//! writes) and a guard pattern after the payload (catches writes past the end).

use crosscheck_spec::{OutputBuffer, Precision};

/// Bytes of guard region after every output payload.
pub const GUARD_BYTES: usize = 256;

/// Guard pattern, repeated over the guard region by absolute byte offset.
const GUARD_PATTERN: [u8; 4] = [0xc5, 0x3a, 0xa3, 0x5c];

/// A quiet NaN with a payload no arithmetic produces: what an unwritten element still holds.
pub fn poison_bits(precision: Precision) -> u32 {
    match precision {
        Precision::F32 => 0x7fc5_a5a5,
        Precision::F16 => 0x7e5a,
        Precision::BF16 => 0x7fda,
        Precision::U8 => 0xa5,
    }
}

/// The second poison of a raw-byte output: a byte that held [`poison_bits`]`(U8)` after a run
/// is unwritten only if it holds this one after a second run.
pub const SECOND_BYTE_POISON: u8 = 0x5a;

/// Fills the payload with poison and the guard region with the guard pattern.
pub fn arm(output: &mut OutputBuffer) {
    arm_with(output, poison_bits(output.precision()));
}

/// [`arm`] with another poison for the payload (for raw bytes, [`SECOND_BYTE_POISON`]).
pub fn arm_with(output: &mut OutputBuffer, poison_bits: u32) {
    let precision = output.precision();
    let poison = poison_bits.to_le_bytes();
    let payload_len = output.payload_len();
    let bytes = output.bytes_mut();
    for element in bytes[..payload_len].chunks_exact_mut(precision.bytes()) {
        element.copy_from_slice(&poison[..precision.bytes()]);
    }
    for (offset, byte) in bytes.iter_mut().enumerate().skip(payload_len) {
        *byte = GUARD_PATTERN[offset % 4];
    }
}

/// What the guards saw after a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuardReport {
    /// Indices of output elements that still hold the poison pattern.
    pub unwritten: Vec<usize>,
    /// Byte offsets past the payload whose guard byte changed.
    pub out_of_bounds: Vec<usize>,
}

impl GuardReport {
    /// True when every element was written and no guard byte changed.
    pub fn clean(&self) -> bool {
        self.unwritten.is_empty() && self.out_of_bounds.is_empty()
    }
}

/// Of the `candidates` (bytes that held the first poison after the first run), those that hold
/// [`SECOND_BYTE_POISON`] after a second run armed with it: written by neither run.
pub fn unwritten_in_both(candidates: &[usize], second: &OutputBuffer) -> Vec<usize> {
    let payload = second.payload();
    candidates
        .iter()
        .copied()
        .filter(|&i| payload.get(i) == Some(&SECOND_BYTE_POISON))
        .collect()
}

/// Inspects an output that was [`arm`]ed before the run. For raw bytes, `unwritten` lists the
/// bytes that hold the poison, which a kernel may also have written on purpose: only a second
/// run with another poison ([`unwritten_in_both`]) tells them apart.
pub fn inspect(output: &OutputBuffer) -> GuardReport {
    let precision = output.precision();
    let poison = poison_bits(precision);
    let unwritten = output
        .payload()
        .chunks_exact(precision.bytes())
        .enumerate()
        .filter(|(_, e)| precision.bits(e) == poison)
        .map(|(i, _)| i)
        .collect();
    let payload_len = output.payload_len();
    let out_of_bounds = output
        .guard()
        .iter()
        .enumerate()
        .map(|(i, b)| (payload_len + i, b))
        .filter(|(offset, b)| **b != GUARD_PATTERN[offset % 4])
        .map(|(offset, _)| offset)
        .collect();
    GuardReport {
        unwritten,
        out_of_bounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_armed_buffer_reports_every_element_unwritten() {
        for precision in Precision::FLOATS {
            let mut out = OutputBuffer::new(precision, 5, GUARD_BYTES);
            arm(&mut out);
            let r = inspect(&out);
            assert_eq!(r.unwritten, vec![0, 1, 2, 3, 4]);
            assert!(r.out_of_bounds.is_empty());
        }
    }

    #[test]
    fn poison_is_nan_in_its_precision() {
        for precision in Precision::FLOATS {
            let v = crosscheck_reference::codec::bits_to_f64(precision, poison_bits(precision));
            assert!(v.is_nan());
        }
    }

    #[test]
    fn a_write_past_the_end_is_seen() {
        let mut out = OutputBuffer::new(Precision::F16, 3, GUARD_BYTES);
        arm(&mut out);
        out.bytes_mut()[..6].fill(0);
        out.bytes_mut()[6] = 0;
        let r = inspect(&out);
        assert!(r.unwritten.is_empty());
        assert_eq!(r.out_of_bounds, vec![6]);
    }
}
