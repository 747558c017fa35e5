//! The split-KV combine shared by the CPU split-KV kernels (attention and MLA): each split's
//! online softmax leaves a partial (running maximum, weight sum, unnormalised output), and the
//! partials merge in split order with a log-sum-exp combine.

/// One split's partial: running maximum, weight sum and unnormalised output.
pub struct Partial {
    /// The largest score seen (−∞ while none was finite; `f32::max` passes NaN over).
    pub max: f32,
    /// Σ exp(score − max) over the split's keys.
    pub sum: f32,
    /// Σ exp(score − max) · v over the split's keys.
    pub out: Vec<f32>,
}

/// Merges `partials` in order into `out`: m = max m_s, O = Σ exp(m_s − m)·out_s /
/// Σ exp(m_s − m)·sum_s; returns (m, Σ exp(m_s − m)·sum_s), from which MLA takes its LSE. A
/// split of −∞ scores carries nothing ([`carries_something`]).
pub fn combine(partials: &[Partial], out: &mut [f32]) -> (f32, f32) {
    let max = partials
        .iter()
        .map(|p| p.max)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for p in partials.iter().filter(|p| carries_something(p)) {
        let f = (p.max - max).exp();
        sum += p.sum * f;
        for (o, v) in out.iter_mut().zip(&p.out) {
            *o += v * f;
        }
    }
    out.iter_mut().for_each(|o| *o /= sum);
    (max, sum)
}

/// Whether a split's partial enters the combine: not when all its scores were −∞ (maximum −∞,
/// sum 0). A split whose scores were NaN also ends with maximum −∞ (`f32::max` passes NaN
/// over) but with a NaN sum, and must carry that NaN to the output.
fn carries_something(p: &Partial) -> bool {
    !(p.max == f32::NEG_INFINITY && p.sum == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A split whose one score was NaN (its maximum stays −∞, its sum is NaN) makes the output
    /// and the sum NaN; a split of −∞ scores changes neither.
    #[test]
    fn a_nan_split_reaches_the_output_and_an_empty_one_does_not() {
        let finite = || Partial {
            max: 0.5,
            sum: 2.0,
            out: vec![3.0],
        };
        let nan = Partial {
            max: f32::NEG_INFINITY,
            sum: f32::NAN,
            out: vec![f32::NAN],
        };
        let empty = Partial {
            max: f32::NEG_INFINITY,
            sum: 0.0,
            out: vec![0.0],
        };
        let mut out = [0.0f32];
        let (_, sum) = combine(&[finite(), nan], &mut out);
        assert!(out[0].is_nan() && sum.is_nan());
        let mut out = [0.0f32];
        assert_eq!(combine(&[finite(), empty], &mut out), (0.5, 2.0));
        assert_eq!(out[0], 1.5);
    }
}
