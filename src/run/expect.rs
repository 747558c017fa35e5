//! What a correct kernel must produce for a case: the oracle's values and, per element, the
//! error the declared contract allows before the final rounding.

use crosscheck_spec::{HostTensor, NumericContract};

use crate::case::Case;
use crate::judge::Tier;

/// Oracle values and allowances for one case.
pub struct Expectation {
    /// Tier that judges the case.
    pub tier: Tier,
    /// The oracle's value per output element.
    pub values: Vec<f64>,
    /// Allowed accumulated error per output element (zero in matmul's exact tier).
    pub allowed_error: Vec<f64>,
    /// Output elements the kernel must leave as they were (ascending indices): the problem says
    /// they are not to be written (the padding rows of a grouped GEMM declared `untouched`).
    /// Each must still hold the guard's poison after the run; its value and allowance are not
    /// used. Empty for most problems.
    pub untouched: Vec<usize>,
}

/// Computes the expectation of `case` from its stored `inputs` (its op family's oracle and bound).
pub fn expectation(case: &Case, inputs: &[HostTensor], contract: &NumericContract) -> Expectation {
    crate::ops::of(&case.problem).expectation(case, inputs, contract)
}

/// An exact-tier expectation: these values and no room.
pub(crate) fn exact_values(values: Vec<f64>) -> Expectation {
    let allowed_error = vec![0.0; values.len()];
    Expectation {
        tier: Tier::Exact,
        values,
        allowed_error,
        untouched: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crosscheck_kernels::CpuBackend;
    use crosscheck_spec::{
        AttentionProblem, Backend, Layout, OutputBuffer, Precision, Problem, Variant,
    };

    use super::*;
    use crate::case::Distribution;
    use crate::guards::GuardReport;
    use crate::judge::{Tier, Verdict, judge};

    fn tensor(shape: Vec<usize>, values: &[f32]) -> HostTensor {
        HostTensor {
            shape,
            layout: Layout::RowMajor,
            precision: Precision::F32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// One query, two keys scoring 0 and `low` (scale 1), values [[1, 2], [∞, 3]]: the second
    /// key's weight is e^low, positive in exact arithmetic, so the oracle's first output is +∞.
    fn case_and_inputs(low: f32) -> (Case, Vec<HostTensor>) {
        let p = AttentionProblem {
            batch: 1,
            heads_q: 1,
            heads_kv: 1,
            len_q: 1,
            len_kv: 2,
            d_qk: 1,
            d_v: 2,
            causal: false,
            window: None,
            scale_bits: Some(1.0f32.to_bits()),
        };
        let inputs = vec![
            tensor(p.q_shape(), &[1.0]),
            tensor(p.k_shape(), &[0.0, low]),
            tensor(p.v_shape(), &[1.0, 2.0, f32::INFINITY, 3.0]),
        ];
        let case = Case {
            kernel: "naive".into(),
            backend: "cpu".into(),
            variant: Variant::portable(Precision::F32),
            problem: Problem::Attention(p),
            distribution: Distribution::Normal,
            seed: 0,
        };
        (case, inputs)
    }

    fn verdict(case: &Case, inputs: &[HostTensor], output: &[f32]) -> Verdict {
        let contract = NumericContract::IEEE_F32;
        let expected = expectation(case, inputs, &contract);
        let mut buffer = OutputBuffer::new(Precision::F32, output.len(), 0);
        output
            .iter()
            .enumerate()
            .for_each(|(i, v)| buffer.write(i, *v));
        let guards = GuardReport::default();
        judge(&contract, &expected, &buffer, &guards)
    }

    /// What a CPU kernel computes for the case.
    fn cpu(kernel: &str, case: &Case, inputs: &[HostTensor]) -> Vec<f32> {
        let mut output = OutputBuffer::new(Precision::F32, case.problem.output_len(), 0);
        let refs: Vec<&HostTensor> = inputs.iter().collect();
        CpuBackend
            .run(kernel, case.variant, &case.problem, &refs, &mut output)
            .unwrap();
        output
            .payload()
            .chunks(4)
            .map(|b| Precision::F32.decode(b))
            .collect()
    }

    #[test]
    fn an_infinite_value_behind_a_weight_that_may_vanish_may_give_nan() {
        // e^-120 is positive in f64 but zero in f32: 0·∞ = NaN is a correct f32 result.
        let (case, inputs) = case_and_inputs(-120.0);
        let contract = NumericContract::IEEE_F32;
        assert_eq!(
            expectation(&case, &inputs, &contract).values[0],
            f64::INFINITY
        );
        for kernel in ["naive", "flash"] {
            let computed = cpu(kernel, &case, &inputs);
            assert!(computed[0].is_nan(), "{kernel}: {computed:?}");
            assert!(verdict(&case, &inputs, &computed).passed(), "{kernel}");
        }
        assert!(verdict(&case, &inputs, &[f32::INFINITY, 2.0]).passed());
        assert!(
            !verdict(&case, &inputs, &[1.0, 2.0]).passed(),
            "a finite value is wrong"
        );
        let nan_everywhere = [f32::NAN, f32::NAN];
        assert!(
            !verdict(&case, &inputs, &nan_everywhere).passed(),
            "the finite column stays judged"
        );
    }

    /// Elements an expectation lists as untouched pass while they hold the guard's poison and
    /// fail with `Touched` once written, whatever the value; the others are judged as usual.
    #[test]
    fn untouched_elements_must_keep_the_poison() {
        let contract = NumericContract::IEEE_F32;
        let expected = Expectation {
            tier: Tier::Bound,
            values: vec![1.0, 0.0, 2.0],
            allowed_error: vec![0.0, 0.0, 0.0],
            untouched: vec![1],
        };
        let run = |middle: Option<f32>| {
            let mut out = OutputBuffer::new(Precision::F32, 3, crate::guards::GUARD_BYTES);
            crate::guards::arm(&mut out);
            out.write(0, 1.0);
            out.write(2, 2.0);
            if let Some(v) = middle {
                out.write(1, v);
            }
            let seen = crate::guards::inspect(&out);
            judge(&contract, &expected, &out, &seen)
        };
        let left = run(None);
        assert!(left.passed(), "{:?}", left.failures);
        assert_eq!(left.worst_ratio, 0.0);
        for written in [0.0f32, 1.0, f32::NAN] {
            let v = run(Some(written));
            assert_eq!(
                v.failures,
                vec![crate::judge::Failure::Touched { count: 1, first: 1 }],
                "{written}"
            );
            assert!(v.top[0].touched);
        }
        // Without the untouched list, the unwritten element is a guard failure.
        let plain = Expectation {
            untouched: Vec::new(),
            ..expected
        };
        let mut out = OutputBuffer::new(Precision::F32, 3, crate::guards::GUARD_BYTES);
        crate::guards::arm(&mut out);
        out.write(0, 1.0);
        out.write(2, 2.0);
        let seen = crate::guards::inspect(&out);
        let v = judge(&contract, &plain, &out, &seen);
        assert!(matches!(
            v.failures[..],
            [crate::judge::Failure::Unwritten { count: 1, first: 1 }]
        ));
    }

    #[test]
    fn an_infinite_value_behind_a_weight_that_cannot_vanish_must_stay_infinite() {
        let (case, inputs) = case_and_inputs(-1.0);
        let mut computed = cpu("naive", &case, &inputs);
        assert_eq!(computed[0], f32::INFINITY);
        let v = verdict(&case, &inputs, &computed);
        assert!(v.passed(), "{v:?}");
        computed[0] = f32::NAN;
        assert!(!verdict(&case, &inputs, &computed).passed());
    }
}
