"""The example backends in examples/python, judged against independent float64 references."""

import ast
import math
import select
import struct
import unittest

import ml_dtypes
import numpy as np

from crosscheck_backend import _wire
from tests.harness import EXAMPLES, Backend, run_frame

BF16 = np.dtype(ml_dtypes.bfloat16)
WIRE = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", BF16: "BF16"}
VARIANTS = [("f32", np.dtype(np.float32)), ("f16", np.dtype(np.float16)), ("bf16", BF16)]


def attention_problem(batch=1, heads_q=2, heads_kv=1, len_q=4, len_kv=6, d_qk=8, d_v=5,
                      causal=False, window=None, scale=None):
    return {"batch": batch, "heads_q": heads_q, "heads_kv": heads_kv, "len_q": len_q,
            "len_kv": len_kv, "d_qk": d_qk, "d_v": d_v, "causal": causal, "window": window,
            "scale": 1 / math.sqrt(d_qk) if scale is None else scale,
            "custom_scale": scale is not None}


def attention_inputs(p, dtype, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((p["batch"], p["heads_q"], p["len_q"], p["d_qk"]))
    k = rng.standard_normal((p["batch"], p["heads_kv"], p["len_kv"], p["d_qk"]))
    v = rng.standard_normal((p["batch"], p["heads_kv"], p["len_kv"], p["d_v"]))
    return [x.astype(np.float32).astype(dtype) for x in (q, k, v)]


def reference_attention(p, q, k, v, end_aligned=True):
    """Attention in float64, straight from the protocol's words, reading only visible keys."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    out = np.zeros((p["batch"], p["heads_q"], p["len_q"], p["d_v"]))
    group = p["heads_q"] // p["heads_kv"]
    for b in range(p["batch"]):
        for h in range(p["heads_q"]):
            for i in range(p["len_q"]):
                position = i + p["len_kv"] - p["len_q"] if end_aligned else i
                keys = [j for j in range(p["len_kv"])
                        if (not p["causal"] or j <= position)
                        and (not p["window"] or j > position - p["window"])]
                if not keys:
                    continue
                with np.errstate(all="ignore"):
                    scores = np.array([p["scale"] * np.dot(q[b, h, i], k[b, h // group, j])
                                       for j in keys])
                    weights = np.exp(scores - np.max(scores))
                    weights /= weights.sum()
                    out[b, h, i] = sum(w * v[b, h // group, j] for w, j in zip(weights, keys))
    return out


def assert_nan_pattern_and_close(case, out, want, rtol, atol):
    out = out.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want), err_msg="NaN positions")
    np.testing.assert_allclose(out, want, rtol=rtol, atol=atol, equal_nan=True)


class BackendCase(unittest.TestCase):
    script = None

    @classmethod
    def setUpClass(cls):
        cls.backend = Backend(EXAMPLES / cls.script)
        cls.declaration = cls.backend.hello()

    @classmethod
    def tearDownClass(cls):
        status, stderr = cls.backend.close()
        assert status == 0, (status, stderr)

    def attend(self, p, q, k, v, variant="f32"):
        frame = run_frame("attention", "np", variant, p, [("Q", q), ("K", k), ("V", v)],
                          (p["batch"], p["heads_q"], p["len_q"], p["d_v"]), WIRE[q.dtype])
        answer, tensors = self.backend.request(frame)
        self.assertEqual(answer["type"], "output", answer)
        self.assertEqual(tensors["out"].dtype, q.dtype)
        return tensors["out"]

    def multiply(self, a, b, variant="f32", a_layout="row", b_layout="row"):
        batch, m, k = a.shape
        problem = {"batch": batch, "m": m, "n": b.shape[2], "k": k, "a_layout": a_layout,
                   "b_layout": b_layout, "b_broadcast": b.shape[0] == 1 and batch > 1}
        frame = run_frame("matmul", "np", variant, problem, [("A", a), ("B", b)],
                          (batch, m, b.shape[2]), WIRE[a.dtype],
                          layouts={"A": a_layout, "B": b_layout})
        answer, tensors = self.backend.request(frame)
        self.assertEqual(answer["type"], "output", answer)
        self.assertEqual(tensors["out"].dtype, a.dtype)
        return tensors["out"]


def small_integers(shape, dtype, seed):
    return np.random.default_rng(seed).integers(-8, 9, size=shape).astype(dtype)


class NumpyKernelsTest(BackendCase):
    script = "numpy_kernels.py"

    def test_declaration(self):
        import json

        declaration = json.loads(self.declaration["backend"])
        self.assertEqual(declaration["name"], "numpy-ref")
        kernels = {(k["op"], k["name"]): k for k in declaration["kernels"]}
        self.assertEqual(set(kernels), {("matmul", "np"), ("attention", "np"),
                                        ("dequantize", "q8_0")})
        matmul = kernels[("matmul", "np")]["variants"]
        self.assertEqual([v["variant"] for v in matmul], ["f32", "f16", "bf16"])
        self.assertEqual(matmul[0]["contract"], {"accumulator": "f32", "deterministic": True,
                                                 "batch_invariant": False})
        attention = kernels[("attention", "np")]["variants"][2]["contract"]
        self.assertEqual(attention, {"accumulator": "f32", "softmax": "two-pass", "exp_ulp": 1,
                                     "div_ulp": 0.5, "deterministic": True,
                                     "batch_invariant": True})

    def test_matmul_is_exact_on_small_integers_in_every_layout(self):
        for (variant, dtype), a_layout, b_layout, broadcast in [
            (VARIANTS[0], "row", "row", False), (VARIANTS[1], "col", "row", True),
            (VARIANTS[2], "row", "col", False), (VARIANTS[0], "col", "col", True),
        ]:
            with self.subTest(variant=variant, a=a_layout, b=b_layout, broadcast=broadcast):
                a = small_integers((3, 4, 7), dtype, 1)
                b = small_integers((1 if broadcast else 3, 7, 5), dtype, 2)
                out = self.multiply(a, b, variant, a_layout, b_layout)
                want = np.matmul(a.astype(np.float64), b.astype(np.float64))
                np.testing.assert_array_equal(out.astype(np.float64), want)

    def test_attention_matches_the_reference(self):
        shapes = [
            dict(),
            dict(causal=True),
            dict(causal=True, len_q=6, len_kv=3),  # early rows see no key
            dict(window=2, len_q=5, len_kv=5),
            dict(causal=True, window=3, len_q=3, len_kv=9, batch=2),
            dict(heads_q=8, heads_kv=2, len_q=1, len_kv=11, scale=0.125),
            dict(d_qk=1, d_v=1, len_q=2, len_kv=1),
        ]
        tolerances = {"f32": (2e-5, 1e-6), "f16": (2e-3, 2e-4), "bf16": (1.6e-2, 2e-3)}
        for shape in shapes:
            for variant, dtype in VARIANTS:
                with self.subTest(variant=variant, **shape):
                    p = attention_problem(**shape)
                    q, k, v = attention_inputs(p, dtype, seed=len(shape))
                    out = self.attend(p, q, k, v, variant)
                    want = reference_attention(p, q, k, v)
                    assert_nan_pattern_and_close(self, out, want, *tolerances[variant])

    def test_rows_that_see_no_key_are_zero(self):
        p = attention_problem(causal=True, len_q=5, len_kv=2)
        q, k, v = attention_inputs(p, np.float32)
        out = self.attend(p, q, k, v)
        self.assertTrue(np.all(out[:, :, :3] == 0))
        self.assertTrue(np.all(out[:, :, 3:] != 0))

    def test_nan_in_a_key_reaches_exactly_the_rows_that_see_it(self):
        p = attention_problem(causal=True, window=3, heads_q=4, heads_kv=2, len_q=6, len_kv=6)
        q, k, v = attention_inputs(p, np.float32)
        k[0, 1, 2, 3] = np.nan  # kv head 1 = query heads 2 and 3; key 2 is seen by rows 2..4
        k[0, 0, 5, 0] = np.inf  # only row 5 of heads 0 and 1 sees key 5
        out = self.attend(p, q, k, v)
        rows = np.isnan(out).all(axis=-1)
        self.assertFalse(np.isnan(out[:, :2, :5]).any())
        np.testing.assert_array_equal(rows[0, 2:], [[False, False, True, True, True, False]] * 2)
        np.testing.assert_array_equal(np.isnan(out).any(axis=-1), rows)
        assert_nan_pattern_and_close(self, out, reference_attention(p, q, k, v), 2e-5, 1e-6)

    def test_nan_in_a_value_reaches_one_column_of_the_rows_that_see_it(self):
        p = attention_problem(causal=True, len_q=4, len_kv=4, heads_q=1)
        q, k, v = attention_inputs(p, np.float32)
        v[0, 0, 1, 2] = np.nan
        out = self.attend(p, q, k, v)
        want = np.zeros(out.shape, dtype=bool)
        want[0, 0, 1:, 2] = True
        np.testing.assert_array_equal(np.isnan(out), want)

    def test_masked_keys_weigh_exactly_zero_whatever_they_hold(self):
        p = attention_problem(causal=True, len_q=3, len_kv=3, heads_q=1, d_qk=2, d_v=2)
        q = np.ones((1, 1, 3, 2), np.float32)
        k = np.array([[[[1, 0], [np.nan, np.inf], [-np.inf, np.nan]]]], np.float32)
        v = np.array([[[[3, 4], [np.inf, np.nan], [np.nan, -np.inf]]]], np.float32)
        out = self.attend(p, q, k, v)
        np.testing.assert_array_equal(out[0, 0, 0], [3, 4])  # row 0 sees key 0 only
        self.assertTrue(np.isnan(out[0, 0, 1:]).all())

    def test_minus_infinity_scores_weigh_zero_and_all_minus_infinity_is_nan(self):
        p = attention_problem(causal=True, len_q=3, len_kv=3, heads_q=1, d_qk=2, d_v=1)
        q = np.array([[[[1, 1]] * 3]], np.float32)
        k = np.array([[[[-np.inf, 0], [-np.inf, 1], [0, 1]]]], np.float32)
        v = np.array([[[[5], [6], [7]]]], np.float32)
        out = self.attend(p, q, k, v).ravel()
        self.assertTrue(np.isnan(out[0]) and np.isnan(out[1]))  # softmax over nothing but -inf
        self.assertEqual(out[2], 7)

    def test_large_scores_do_not_overflow(self):
        p = attention_problem(len_q=2, len_kv=4, heads_q=1, d_qk=1, d_v=1, scale=1.0)
        q = np.array([[[[3000.0], [-3000.0]]]], np.float32)
        k = np.array([[[[1.0], [1.0], [0.5], [-1.0]]]], np.float32)
        v = np.array([[[[2.0], [4.0], [100.0], [8.0]]]], np.float32)
        np.testing.assert_array_equal(self.attend(p, q, k, v).ravel(), [3.0, 8.0])

    def test_dequantize_q8_0_matches_the_format_bit_for_bit(self):
        rng = np.random.default_rng(7)
        blocks = rng.integers(0, 256, size=(12, 34), dtype=np.uint8)
        scales = [0x3C00, 0x0001, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x8000, 0x0400, 0x3555]
        for row, bits in enumerate(scales):
            blocks[row, :2] = [bits & 0xFF, bits >> 8]
        blocks[4, 2] = 0  # infinity times code 0 is NaN
        blocks[5, 2:] = [0x80] * 32  # -128 codes with -infinity
        raw = blocks.ravel()
        frame = run_frame("dequantize", "q8_0", "f32",
                          {"format": "q8_0", "rows": 3, "cols": 128},
                          [("Q", raw)], (3, 128), "F32")
        answer, tensors = self.backend.request(frame)
        self.assertEqual(answer["type"], "output", answer)
        out = tensors["out"].ravel()
        want = []
        for block in blocks:
            (d,) = struct.unpack("<e", bytes(block[:2]))
            codes = struct.unpack("<32b", bytes(block[2:]))
            want.extend(d * q for q in codes)
        want = np.array(want, dtype=np.float64)
        self.assertTrue(np.isnan(want[4 * 32]) and np.isinf(want[5 * 32]))
        np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
        exact = ~np.isnan(want)
        self.assertEqual(out[exact].tolist(), want[exact].astype(np.float32).tolist())
        self.assertEqual(np.float32(want[exact]).tolist(), want[exact].tolist())  # exact in f32

    def test_dequantize_refuses_other_formats(self):
        frame = run_frame("dequantize", "q8_0", "f32", {"format": "q4_0", "rows": 1, "cols": 32},
                          [("Q", np.zeros(18, np.uint8))], (1, 32), "F32")
        answer, _ = self.backend.request(frame)
        self.assertEqual(answer, {"type": "unsupported", "reason": "only q8_0, not q4_0"})


class NumpyBuggyTest(BackendCase):
    script = "numpy_buggy.py"

    def test_matmul_is_wrong_only_when_k_exceeds_one(self):
        for k, wrong in [(1, False), (2, True), (9, True)]:
            with self.subTest(k=k):
                a = small_integers((2, 3, k), np.float32, 3)
                b = small_integers((2, k, 4), np.float32, 4)
                b[:, 0] = 9  # rows of B differ, so reading them backwards shows
                out = self.multiply(a, b)
                self.assertEqual(not np.array_equal(out, a @ b), wrong)

    def test_attention_masks_are_start_aligned(self):
        for len_q, len_kv, wrong in [(4, 4, False), (3, 7, True), (6, 2, True)]:
            with self.subTest(len_q=len_q, len_kv=len_kv):
                p = attention_problem(causal=True, len_q=len_q, len_kv=len_kv)
                q, k, v = attention_inputs(p, np.float32)
                out = self.attend(p, q, k, v)
                start = reference_attention(p, q, k, v, end_aligned=False)
                assert_nan_pattern_and_close(self, out, start, 2e-5, 1e-6)
                end = reference_attention(p, q, k, v)
                self.assertEqual(not np.allclose(out, end, rtol=1e-3, atol=1e-4), wrong)

    def test_dequantize_is_correct(self):
        block = np.array([0x00, 0x3C] + list(range(32)), dtype=np.uint8)  # d = 1
        frame = run_frame("dequantize", "q8_0", "f32", {"format": "q8_0", "rows": 1, "cols": 32},
                          [("Q", block)], (1, 32), "F32")
        answer, tensors = self.backend.request(frame)
        self.assertEqual(tensors["out"].ravel().tolist(), list(range(32)))


def fault_triggers():
    """The module-level (m, n, k) trigger constants of numpy_faults.py, read without running it."""
    tree = ast.parse((EXAMPLES / "numpy_faults.py").read_text())
    triggers = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = getattr(node.targets[0], "id", "")
            if name.endswith("_AT"):
                triggers[name] = ast.literal_eval(node.value)
    return triggers


class NumpyFaultsTest(unittest.TestCase):
    triggers = fault_triggers()

    def start(self):
        backend = Backend(EXAMPLES / "numpy_faults.py")
        self.addCleanup(lambda: backend.process.poll() is None and backend.process.kill())
        declaration = backend.hello()
        self.assertIn('"name": "numpy-faults"', declaration["backend"])
        return backend

    def frame(self, m, n, k):
        a = small_integers((1, m, k), np.float32, 5)
        b = small_integers((1, k, n), np.float32, 6)
        problem = {"batch": 1, "m": m, "n": n, "k": k, "a_layout": "row", "b_layout": "row",
                   "b_broadcast": False}
        return run_frame("matmul", "np", "f32", problem, [("A", a), ("B", b)], (1, m, n),
                         "F32"), a.astype(np.float64) @ b

    def test_the_triggers_are_three_distinct_sizes(self):
        self.assertEqual(set(self.triggers), {"CRASH_AT", "HANG_AT", "WRONG_DTYPE_AT"})
        self.assertEqual(len(set(self.triggers.values())), 3)

    def test_other_sizes_are_correct_and_the_wrong_dtype_is_sent_raw(self):
        with self.start() as backend:
            frame, want = self.frame(2, 2, 3)
            answer, tensors = backend.request(frame)
            self.assertEqual(tensors["out"].dtype, np.float32)
            np.testing.assert_array_equal(tensors["out"], want)
            frame, want = self.frame(*self.triggers["WRONG_DTYPE_AT"])
            answer, tensors = backend.request(frame)
            self.assertEqual(answer["type"], "output")
            self.assertEqual(tensors["out"].dtype, np.float64)
            np.testing.assert_array_equal(tensors["out"], want)

    def test_the_crash_trigger_exits_with_status_3(self):
        backend = self.start()
        frame, _ = self.frame(*self.triggers["CRASH_AT"])
        _wire.write_frame(backend.process.stdin, frame)
        self.assertIsNone(_wire.read_frame(backend.process.stdout))
        self.assertEqual(backend.process.wait(timeout=10), 3)
        self.assertIn("simulated crash", backend.process.stderr.read().decode())
        for stream in (backend.process.stdout, backend.process.stderr):
            stream.close()
        try:
            backend.process.stdin.close()
        except BrokenPipeError:
            pass

    def test_the_hang_trigger_does_not_answer(self):
        backend = self.start()
        frame, _ = self.frame(*self.triggers["HANG_AT"])
        _wire.write_frame(backend.process.stdin, frame)
        ready, _, _ = select.select([backend.process.stdout], [], [], 1.5)
        self.assertEqual(ready, [])
        self.assertIsNone(backend.process.poll())
        backend.process.kill()
        backend.process.wait()
        for stream in (backend.process.stdin, backend.process.stdout, backend.process.stderr):
            stream.close()


if __name__ == "__main__":
    unittest.main()
