//! The output buffer a kernel writes into: the payload followed by a guard region.

use crate::Precision;

/// Where a kernel writes its result. The harness fills the whole buffer (payload and the guard
/// region after it) with known patterns before the run and checks them after: elements still
/// holding the poison pattern were never written, and any change in the guard region is an
/// out-of-bounds write.
///
/// A backend that runs on a device must upload [`OutputBuffer::bytes`] whole as the output
/// binding and copy the whole buffer back, so that the guards see what the device did.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputBuffer {
    precision: Precision,
    len: usize,
    bytes: Vec<u8>,
}

impl OutputBuffer {
    /// A zero-filled buffer for `len` elements followed by at least `guard_bytes` of guard region;
    /// the total is rounded up to a multiple of 4 bytes so it can be bound as 32-bit words.
    pub fn new(precision: Precision, len: usize, guard_bytes: usize) -> Self {
        let total = (len * precision.bytes() + guard_bytes).next_multiple_of(4);
        OutputBuffer {
            precision,
            len,
            bytes: vec![0; total],
        }
    }

    /// Storage precision of the elements.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Number of output elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no output elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of payload: `len · precision.bytes()`.
    pub fn payload_len(&self) -> usize {
        self.len * self.precision.bytes()
    }

    /// The whole buffer: payload, then guard region.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole buffer, writable: what a device backend uploads and downloads.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The payload alone, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let n = self.payload_len();
        &mut self.bytes[..n]
    }

    /// The payload alone.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[..self.payload_len()]
    }

    /// Stores element `index` of the payload from an f32 value, encoded as
    /// [`Precision::encode`] does (exact for values the precision represents).
    ///
    /// # Panics
    /// When `index` is past the payload.
    pub fn write(&mut self, index: usize, value: f32) {
        assert!(index < self.len, "output element {index} of {}", self.len);
        let width = self.precision.bytes();
        self.precision
            .encode(value, &mut self.bytes[index * width..][..width]);
    }

    /// The guard region after the payload.
    pub fn guard(&self) -> &[u8] {
        &self.bytes[self.payload_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_word_aligned_with_a_guard() {
        let b = OutputBuffer::new(Precision::F16, 3, 16);
        assert_eq!(b.payload_len(), 6);
        assert_eq!(b.bytes().len(), 24);
        assert_eq!(b.guard().len(), 18);
    }

    #[test]
    fn writes_land_in_the_payload_only() {
        let mut b = OutputBuffer::new(Precision::BF16, 2, 4);
        b.write(1, -2.0);
        assert_eq!(b.payload(), &[0, 0, 0x00, 0xc0]);
        assert!(b.guard().iter().all(|&x| x == 0));
    }

    #[test]
    #[should_panic(expected = "output element 2 of 2")]
    fn writes_past_the_payload_panic() {
        OutputBuffer::new(Precision::F32, 2, 8).write(2, 1.0);
    }
}
