//! Symmetric int8 with one f32 scale per row: scale = amax / 127, q = x / scale rounded half away
//! from zero and clamped to ±127 (0 when the scale is 0). Each row: f32 scale, then the codes.

/// Rows of (scale, codes).
pub fn encode(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * (4 + cols));
    for row in values.chunks_exact(cols) {
        let amax = row
            .iter()
            .fold(0.0f32, |m, v| if v.abs() > m { v.abs() } else { m });
        let scale = amax / 127.0;
        out.extend_from_slice(&scale.to_le_bytes());
        out.extend(row.iter().map(|&x| code(x, scale) as u8));
    }
    out
}

/// One code: round(x / scale) half away from zero, clamped to ±127.
fn code(x: f32, scale: f32) -> i8 {
    if scale == 0.0 {
        return 0;
    }
    (x / scale).round().clamp(-127.0, 127.0) as i8
}

/// Values q·scale, exact in f64.
pub fn decode(rows: usize, cols: usize, bytes: &[u8]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for row in bytes.chunks_exact(4 + cols) {
        let scale = f32::from_le_bytes([row[0], row[1], row[2], row[3]]) as f64;
        out.extend(row[4..].iter().map(|&q| (q as i8) as f64 * scale));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_per_row_and_ties_away_from_zero() {
        // Row 0: amax 127 → scale 1: 0.5 → 1, −1.5 → −2, 2.5 → 3. Row 1: all zero → scale 0.
        let bytes = encode(2, 4, &[127.0, 0.5, -1.5, 2.5, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(f32::from_le_bytes(bytes[0..4].try_into().unwrap()), 1.0);
        assert_eq!(
            bytes[4..8].iter().map(|&q| q as i8).collect::<Vec<_>>(),
            vec![127, 1, -2, 3]
        );
        assert!(bytes[8..].iter().all(|&b| b == 0));
        assert_eq!(decode(2, 4, &bytes)[3], 3.0);
    }
}
