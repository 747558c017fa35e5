"""capture(): the captured-case file crosscheck judge reads, and the Problem constructors."""

import json
import math
import os
import tempfile
import unittest

import ml_dtypes
import numpy as np

from crosscheck_backend import Problem, _wire, capture

BF16 = np.dtype(ml_dtypes.bfloat16)


class CaptureTest(unittest.TestCase):
    def setUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.path = os.path.join(directory.name, "case.safetensors")

    def read(self):
        with open(self.path, "rb") as f:
            metadata, tensors = _wire.decode(f.read())
        parsed = {k: json.loads(metadata[k]) for k in ("problem", "inputs", "output")}
        return metadata, parsed, tensors

    def test_a_matmul_with_a_single_b_is_written_as_a_broadcast(self):
        a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4).astype(BF16)
        b = np.ones((1, 4, 5), dtype=BF16)
        out = np.matmul(a.astype(np.float32), b.astype(np.float32)) + 2**-12  # f32, off-grid
        capture({"op": "matmul", "batch": 2, "m": 3, "n": 5, "k": 4}, [a, b], out, self.path,
                contract={"accumulator": "f32"}, kernel="mine", backend="torch-cuda")
        metadata, parsed, tensors = self.read()
        self.assertEqual(metadata["type"], "run")
        self.assertEqual(metadata["op"], "matmul")
        self.assertEqual(metadata["variant"], "bf16")
        self.assertEqual((metadata["kernel"], metadata["backend"]), ("mine", "torch-cuda"))
        self.assertEqual(json.loads(metadata["contract"]), {"accumulator": "f32"})
        self.assertEqual(parsed["problem"], {"batch": 2, "m": 3, "n": 5, "k": 4,
                                             "a_layout": "row", "b_layout": "row",
                                             "b_broadcast": True})
        self.assertEqual(parsed["inputs"], [{"name": "A", "shape": [2, 3, 4], "layout": "row"},
                                            {"name": "B", "shape": [1, 4, 5], "layout": "row"}])
        self.assertEqual(parsed["output"], {"shape": [2, 3, 5], "dtype": "BF16"})
        self.assertEqual(list(tensors), ["A", "B", "out"])
        self.assertEqual(tensors["A"].tobytes(), a.tobytes())
        self.assertEqual(tensors["out"].dtype, BF16)
        # rounded from f32 to nearest even bf16, not truncated: the 2^-12 is dropped
        np.testing.assert_array_equal(tensors["out"], out.astype(BF16))
        self.assertEqual(tensors["out"].astype(np.float32).ravel()[0], 6.0)

    def test_a_problem_from_a_kernel_with_col_layouts_is_written_row_major(self):
        problem = Problem("matmul", {"batch": 3, "m": 2, "n": 3, "k": 4, "a_layout": "col",
                                     "b_layout": "col", "b_broadcast": True},
                          kernel="np", variant="f16", case="c")
        stored_a = np.arange(24, dtype=np.float16).reshape(3, 4, 2)
        a = np.swapaxes(stored_a, -1, -2)  # what the kernel saw: a transposed view
        b = np.broadcast_to(np.swapaxes(np.arange(12, dtype=np.float16).reshape(1, 3, 4), -1, -2),
                            (3, 4, 3))
        out = np.matmul(a.astype(np.float32), b.astype(np.float32))
        capture(problem, {"B": b, "A": a}, out, self.path)
        metadata, parsed, tensors = self.read()
        self.assertEqual((metadata["variant"], metadata["kernel"]), ("f16", "np"))
        self.assertNotIn("backend", metadata)
        self.assertNotIn("contract", metadata)
        self.assertEqual((parsed["problem"]["a_layout"], parsed["problem"]["b_layout"],
                          parsed["problem"]["b_broadcast"]), ("row", "row", True))
        self.assertEqual(tensors["A"].shape, (3, 2, 4))
        np.testing.assert_array_equal(tensors["A"], a)
        self.assertEqual(tensors["B"].shape, (1, 4, 3))
        np.testing.assert_array_equal(tensors["B"][0], b[0])
        np.testing.assert_array_equal(tensors["out"], out.astype(np.float16))

    def test_attention_defaults(self):
        q = np.zeros((1, 4, 3, 16), np.float32)
        k = np.zeros((1, 2, 5, 16), np.float32)
        v = np.zeros((1, 2, 5, 8), np.float32)
        problem = {"op": "attention", "batch": 1, "heads_q": 4, "heads_kv": 2, "len_q": 3,
                   "len_kv": 5, "d_qk": 16, "d_v": 8, "causal": True, "window": 0}
        capture(problem, (q, k, v), np.zeros((1, 4, 3, 8)), self.path)
        metadata, parsed, tensors = self.read()
        self.assertEqual(parsed["problem"], {
            "batch": 1, "heads_q": 4, "heads_kv": 2, "len_q": 3, "len_kv": 5, "d_qk": 16,
            "d_v": 8, "causal": True, "window": None, "scale": 0.25, "custom_scale": False})
        self.assertEqual(metadata["variant"], "f32")
        self.assertEqual([i["name"] for i in parsed["inputs"]], ["Q", "K", "V"])

    def test_attention_custom_scale_and_window(self):
        problem = Problem.attention(1, 1, 1, 2, 2, 3, 3, window=2, scale=0.1)
        self.assertEqual(problem.scale, float(np.float32(0.1)))
        self.assertTrue(problem.custom_scale)
        self.assertEqual(problem.window, 2)
        default = Problem.attention(1, 1, 1, 2, 2, 3, 3)
        self.assertEqual((default.scale, default.custom_scale, default.window),
                         (1 / math.sqrt(3), False, 0))
        self.assertIsNone(default.to_json()["window"])

    def test_quantized_ops(self):
        raw = np.zeros(2 * 34, np.uint8)
        capture({"op": "dequantize", "format": "q8_0", "rows": 1, "cols": 64}, [raw],
                np.zeros((1, 64), np.float32), self.path)
        metadata, parsed, tensors = self.read()
        self.assertEqual(parsed["inputs"], [{"name": "Q", "shape": [68], "layout": "row"}])
        self.assertEqual(parsed["output"], {"shape": [1, 64], "dtype": "F32"})
        capture(Problem.quantize("q4_0", 1, 32), [np.zeros((1, 32), np.float32)],
                np.zeros(18, np.uint8), self.path)
        _, parsed, tensors = self.read()
        self.assertEqual(parsed["output"], {"shape": [18], "dtype": "U8"})

    def test_mistakes_name_the_tensor_or_key(self):
        matmul = {"op": "matmul", "batch": 1, "m": 2, "n": 2, "k": 2}
        f32 = np.zeros((1, 2, 2), np.float32)
        cases = {
            "input B has dtype float64": ([f32, f32.astype(np.float64)], f32, {}),
            "input A has shape": ([np.zeros((1, 2, 3), np.float32), f32], f32, {}),
            "share one dtype": ([f32, f32.astype(np.float16)], f32, {}),
            "takes 2 inputs": ([f32], f32, {}),
            "inputs are A, B, not A, C": ({"A": f32, "C": f32}, f32, {}),
            r"returned shape \[2, 2\]": ([f32, f32], f32[0], {}),
            "unknown contract key": ([f32, f32], f32, {"contract": {"speed": "fast"}}),
        }
        for why, (inputs, output, extra) in cases.items():
            with self.subTest(why), self.assertRaisesRegex(ValueError, why):
                capture(matmul, inputs, output, self.path, **extra)
        with self.assertRaisesRegex(ValueError, "'op'"):
            capture({"batch": 1}, [f32, f32], f32, self.path)
        with self.assertRaisesRegex(ValueError, "variant f16 stores float16"):
            capture(Problem.matmul(m=2, n=2, k=2, variant="f16"), [f32, f32], f32, self.path)
        with self.assertRaisesRegex(ValueError, "input Q of dequantize must be uint8"):
            capture({"op": "dequantize", "format": "q8_0", "rows": 1, "cols": 32},
                    [np.zeros(34, np.float32)], np.zeros((1, 32), np.float32), self.path)


class ProblemTest(unittest.TestCase):
    def test_constructors_validate(self):
        for why, make in {
            "k must be an integer >= 1": lambda: Problem.matmul(m=1, n=1, k=0),
            "a_layout must be 'row' or 'col'": lambda: Problem.matmul(m=1, n=1, k=1,
                                                                      a_layout="C"),
            "does not divide": lambda: Problem.attention(1, 3, 2, 1, 1, 1, 1),
            "d_qk must be an integer": lambda: Problem.attention(1, 1, 1, 1, 1, 0, 1),
            "not finite": lambda: Problem.attention(1, 1, 1, 1, 1, 1, 1, scale=float("inf")),
            "multiple of 32": lambda: Problem.quantize("q8_0", 1, 31),
            "unknown quantized format": lambda: Problem.dequantize("q2_k", 1, 32),
            "without m": lambda: Problem("matmul", {"batch": 1}),
        }.items():
            with self.subTest(why), self.assertRaisesRegex(ValueError, why):
                make()

    def test_shapes_and_dtypes(self):
        p = Problem.matmul(2, m=3, n=4, k=5, b_broadcast=True, variant="bf16")
        self.assertEqual(p.output_shape, (2, 3, 4))
        self.assertEqual(p.input_shapes(), {"A": (2, 3, 5), "B": (1, 5, 4)})
        self.assertEqual((p.dtype, p.output_dtype), (BF16, BF16))
        q = Problem.qmatmul("fp8-e4m3-128x128", "fp8-e4m3-1x128", m=2, n=130, k=129)
        self.assertEqual(q.input_shapes(), {"A": (4 * 2 * 2 + 2 * 129,),
                                            "W": (4 * 2 * 2 + 130 * 129,)})
        self.assertEqual((q.output_shape, q.output_dtype), ((2, 130), np.float32))
        self.assertEqual(Problem.qmatmul("int8", "int8", 3, 4, 5).input_shapes(),
                         {"A": (27,), "W": (36,)})
        self.assertEqual(Problem.qmatmul("q4_0", None, 3, 4, 32).input_shapes(),
                         {"A": (3, 32), "W": (72,)})
        self.assertEqual(Problem.qmatmul("q4_0", None, 3, 4, 32).output_dtype, np.float32)
        w4a16 = Problem("qmatmul", {"weights": "q4_0", "activations": None, "m": 2, "n": 3,
                                    "k": 32}, variant="bf16")
        self.assertEqual((w4a16.input_shapes()["A"], w4a16.output_dtype), ((2, 32), BF16))
        moe = {"experts": 3, "m": 8, "n": 5, "k": 130, "alignment": 4, "grouping": "offsets",
               "padding": "untouched", "b_layout": "col", "fp8": True}
        c = Problem("moe_contiguous", moe, variant="bf16")
        self.assertEqual(c.input_shapes(), {"A": (4 * 8 * 2 + 8 * 130,),
                                            "B": (3 * (4 * 2 + 5 * 130),), "offsets": (3,)})
        self.assertEqual((c.output_shape, c.output_dtype), ((8, 5), BF16))
        self.assertEqual(Problem("moe_masked", {"experts": 2, "max_m": 4, "n": 5, "k": 6,
                                                "padding": "zero", "b_layout": "row",
                                                "fp8": False}).input_shapes(),
                         {"A": (2, 4, 6), "B": (2, 6, 5), "masked_m": (2,)})
        r = Problem("moe_routed", {"tokens": 2, "experts": 8, "top_k": 3, "n": 4, "k": 5,
                                   "b_layout": "col"})
        self.assertEqual(r.output_shape, (2, 4))
        self.assertEqual(r.input_shapes()["topk_ids"], (2, 3))
        self.assertEqual(r.input_shapes()["X"], (2, 5))
        r8 = Problem("moe_routed", {"tokens": 2, "experts": 8, "top_k": 3, "n": 4, "k": 5,
                                    "b_layout": "col", "fp8": True})
        self.assertEqual(r8.input_shapes()["X"], (4 * 2 + 2 * 5,))
        self.assertEqual(r8.input_shapes()["W"], (8 * (4 + 4 * 5),))
        with self.assertRaisesRegex(ValueError, "padding must be"):
            Problem("moe_contiguous", {**moe, "padding": "garbage"})
        self.assertIn("b_broadcast=True", repr(p))
        self.assertIn("variant='bf16'", repr(p))
        with self.assertRaisesRegex(AttributeError, "no 'len_q'"):
            p.len_q
        with self.assertRaisesRegex(AttributeError, "only attention"):
            p.mask()


if __name__ == "__main__":
    unittest.main()
