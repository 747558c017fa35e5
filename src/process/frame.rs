//! Frames: a little-endian u64 byte count, then that many bytes. Reading refuses a count over
//! the caller's limit before allocating anything, so a process cannot make the harness
//! allocate what it likes.

use std::io::{self, Read, Write};

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended before a frame began (the process closed its output).
    #[error("the process closed its output")]
    Closed,
    /// The stream ended inside a frame.
    #[error("the process closed its output in the middle of a frame ({got} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced.
        want: usize,
    },
    /// The announced length is over the limit.
    #[error("the process announced a frame of {len} bytes; at most {limit} are accepted here")]
    TooLarge {
        /// Bytes announced.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// Reading failed.
    #[error("reading from the process failed: {0}")]
    Io(#[from] io::Error),
}

/// Writes one frame and flushes.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    out.write_all(&(payload.len() as u64).to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame of at most `limit` bytes.
pub fn read_frame(input: &mut impl Read, limit: usize) -> Result<Vec<u8>, FrameError> {
    read_frame_within(input, || limit)
}

/// Reads one frame; `limit` is asked for the largest acceptable length once the length is
/// known (so a reader waiting on a stream sees the limit of the request that was sent last).
pub fn read_frame_within(
    input: &mut impl Read,
    limit: impl Fn() -> usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 8];
    let got = read_full(input, &mut len)?;
    if got == 0 {
        return Err(FrameError::Closed);
    }
    if got < 8 {
        return Err(FrameError::Truncated { got, want: 8 });
    }
    let len = u64::from_le_bytes(len);
    let limit = limit();
    if len > limit as u64 {
        return Err(FrameError::TooLarge { len, limit });
    }
    let mut payload = vec![0u8; len as usize];
    let got = read_full(input, &mut payload)?;
    if got < payload.len() {
        return Err(FrameError::Truncated {
            got,
            want: payload.len(),
        });
    }
    Ok(payload)
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_limits_hold() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        assert_eq!(buf.len(), 13);
        assert_eq!(read_frame(&mut buf.as_slice(), 5).unwrap(), b"hello");
        assert!(matches!(
            read_frame(&mut buf.as_slice(), 4),
            Err(FrameError::TooLarge { len: 5, limit: 4 })
        ));
        assert!(matches!(
            read_frame(&mut &buf[..10], 64),
            Err(FrameError::Truncated { got: 2, want: 5 })
        ));
        assert!(matches!(
            read_frame(&mut &buf[..0], 64),
            Err(FrameError::Closed)
        ));
    }
}
