"""prepare_output: shape checks and the two-step rounding crosscheck's OutputBuffer does."""

import unittest

import ml_dtypes
import numpy as np

from crosscheck_backend import OutputError, Problem, prepare_output

BF16 = np.dtype(ml_dtypes.bfloat16)


def bits16(array):
    return np.asarray(array).view(np.uint16).ravel().tolist()


class RoundingTest(unittest.TestCase):
    def problem(self, variant, m=1, n=1):
        return Problem.matmul(m=m, n=n, k=1, variant=variant)

    def test_f64_reaches_f16_through_f32(self):
        # 1 + 2^-11 + 2^-40: f32 drops the 2^-40, leaving a tie that goes to even (1.0);
        # rounding straight from f64 would see it above the tie and give 1 + 2^-10.
        x = 1 + 2**-11 + 2**-40
        self.assertEqual(bits16(np.float16(x)), [0x3C01])  # the direct rounding, for contrast
        out = prepare_output(np.array([[[x]]]), self.problem("f16"))
        self.assertEqual(out.dtype, np.float16)
        self.assertEqual(bits16(out), [0x3C00])

    def test_f64_reaches_bf16_through_f32(self):
        # (ml_dtypes itself converts float64 through float32; the result must be the same
        # whatever converter a future version uses.)
        x = 1 + 2**-8 + 2**-40
        out = prepare_output(np.array([[[x]]]), self.problem("bf16"))
        self.assertEqual(out.dtype, BF16)
        self.assertEqual(bits16(out), [0x3F80])

    def test_f64_to_f32_is_one_rounding_to_nearest_even(self):
        values = [1 + 2**-24, 1 + 3 * 2**-24, 1 + 2**-24 + 2**-50, 1e300, -1e-300]
        out = prepare_output(np.array([[values]]), self.problem("f32", n=5))
        self.assertEqual(out.dtype, np.float32)
        want = [1.0, 1 + 2**-22, 1 + 2**-23, np.inf, -0.0]
        self.assertEqual(out.ravel().tolist(), want)
        self.assertTrue(np.signbit(out.ravel()[4]))

    def test_f32_to_f16_and_bf16_ties_to_even_and_overflows_to_infinity(self):
        values = np.array([[[1 + 2**-11, 1 + 3 * 2**-11, 65520.0, -70000.0]]], dtype=np.float32)
        self.assertEqual(bits16(prepare_output(values, self.problem("f16", n=4))),
                         [0x3C00, 0x3C02, 0x7C00, 0xFC00])
        values = np.array([[[1 + 2**-8, 1 + 3 * 2**-8, np.finfo(np.float32).max, -np.inf]]],
                          dtype=np.float32)
        self.assertEqual(bits16(prepare_output(values, self.problem("bf16", n=4))),
                         [0x3F80, 0x3F82, 0x7F80, 0xFF80])

    def test_f16n_outputs_are_f16(self):
        out = prepare_output(np.array([[[0.1]]]), self.problem("f16n"))
        self.assertEqual(out.dtype, np.float16)
        self.assertEqual(bits16(out), [0x2E66])

    def test_the_output_dtype_is_sent_bit_for_bit(self):
        nans = np.array([0x7D01, 0xFE00, 0x0001], dtype=np.uint16).view(np.float16)
        out = prepare_output(nans.reshape(1, 1, 3), self.problem("f16", n=3))
        self.assertEqual(bits16(out), [0x7D01, 0xFE00, 0x0001])
        word = np.array([0x7F800001], dtype=np.uint32).view(np.float32)  # a signalling NaN
        out = prepare_output(word.reshape(1, 1, 1), self.problem("f32"))
        self.assertEqual(out.view(np.uint32).tolist(), [[[0x7F800001]]])

    def test_integers_and_other_floats_are_converted(self):
        out = prepare_output(np.array([[[3]]], dtype=np.int64), self.problem("bf16"))
        self.assertEqual(out.dtype, BF16)
        self.assertEqual(float(out.ravel()[0]), 3.0)
        out = prepare_output(np.array([[[0.1]]], dtype=np.float16), self.problem("f32"))
        self.assertEqual(out.ravel().tolist(), [float(np.float16(0.1))])

    def test_the_result_is_contiguous_even_from_a_view(self):
        base = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
        out = prepare_output(np.swapaxes(base, 1, 2), self.problem("f32", m=2, n=3))
        self.assertTrue(out.flags.c_contiguous)
        self.assertEqual(out.ravel().tolist(), [0, 2, 4, 1, 3, 5])


class ShapeAndKindTest(unittest.TestCase):
    def test_a_broadcastable_shape_is_refused(self):
        problem = Problem.matmul(batch=2, m=3, n=4, k=5, variant="f32")
        for shape in [(1, 3, 4), (3, 4), (2, 3, 1), (2, 4, 3)]:
            with self.subTest(shape), self.assertRaisesRegex(OutputError, r"\[2, 3, 4\]"):
                prepare_output(np.zeros(shape, dtype=np.float32), problem)

    def test_raw_results_are_sent_as_they_are(self):
        problem = Problem.matmul(m=1, n=1, k=1, variant="f32")
        out = prepare_output(np.zeros((7,), dtype=np.float64), problem, raw=True)
        self.assertEqual((out.dtype, out.shape), (np.float64, (7,)))

    def test_quantize_outputs_are_bytes(self):
        problem = Problem.quantize("q8_0", 1, 32)
        self.assertEqual(problem.output_shape, (34,))
        out = prepare_output(np.arange(34, dtype=np.float64) * 7, problem)
        self.assertEqual(out.dtype, np.uint8)
        self.assertEqual(out.tolist(), [7 * i for i in range(34)])
        for bad in (np.full(34, 256.0), np.full(34, 1.5), np.full(34, -1), np.full(34, np.nan)):
            with self.subTest(bad[0]), self.assertRaisesRegex(OutputError, "bytes"):
                prepare_output(bad, problem)

    def test_unreadable_and_complex_results_are_refused(self):
        problem = Problem.matmul(m=1, n=1, k=1, variant="f32")
        with self.assertRaisesRegex(OutputError, "returned None"):
            prepare_output(None, problem)
        with self.assertRaisesRegex(OutputError, "complex"):
            prepare_output(np.zeros((1, 1, 1), dtype=np.complex64), problem)

        class Unreadable:
            def __array__(self, *args, **kwargs):
                raise TypeError("Got unsupported ScalarType BFloat16")

        with self.assertRaisesRegex(OutputError, r"Unreadable.*BFloat16.*\.float\(\)"):
            prepare_output(Unreadable(), problem)


if __name__ == "__main__":
    unittest.main()
