"""The protocol loop, spoken to real processes: handshake, runs, inputs, errors, output."""

import json
import unittest
from pathlib import Path

import ml_dtypes
import numpy as np

from crosscheck_backend import _wire
from tests.harness import Backend, run_frame

BACKENDS = Path(__file__).resolve().parent / "backends"
PROBE = BACKENDS / "probe.py"
MISBEHAVE = BACKENDS / "misbehave.py"
BF16 = np.dtype(ml_dtypes.bfloat16)


def matmul_problem(batch=1, m=2, n=3, k=4, a_layout="row", b_layout="row", b_broadcast=False):
    return {"batch": batch, "m": m, "n": n, "k": k, "a_layout": a_layout,
            "b_layout": b_layout, "b_broadcast": b_broadcast}


def matmul_run(kernel, variant="f32", dtype=np.float32, case="test:case", **shape):
    problem = matmul_problem(**shape)
    batch, m, n, k = (problem[key] for key in ("batch", "m", "n", "k"))
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    a = rng.integers(-8, 9, size=(batch, m, k)).astype(dtype)
    b = rng.integers(-8, 9, size=(1 if problem["b_broadcast"] else batch, k, n)).astype(dtype)
    layouts = {"A": problem["a_layout"], "B": problem["b_layout"]}
    wire = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", BF16: "BF16"}
    frame = run_frame("matmul", kernel, variant, problem, [("A", a), ("B", b)],
                      (batch, m, n), wire[np.dtype(dtype)], case=case, layouts=layouts)
    return frame, a, b


class HandshakeTest(unittest.TestCase):
    def test_hello_declares_the_backend(self):
        with Backend(PROBE) as backend:
            answer = backend.hello()
            status, _ = backend.close()
        self.assertEqual(answer["type"], "hello")
        self.assertEqual(answer["protocol"], "1")
        declaration = json.loads(answer["backend"])
        self.assertEqual(declaration["name"], "probe")
        self.assertEqual(declaration["device"],
                         {"api": "python", "device": "test device", "driver": "test driver"})
        self.assertEqual([(k["op"], k["name"]) for k in declaration["kernels"]],
                         [("matmul", "probe"), ("attention", "probe"), ("dequantize", "probe")])
        self.assertEqual([v["variant"] for v in declaration["kernels"][0]["variants"]],
                         ["f32", "f16", "bf16", "f16n"])
        self.assertEqual(status, 0)

    def test_another_protocol_version_is_refused_and_the_process_exits(self):
        with Backend(PROBE) as backend:
            answer = backend.hello(protocol="2")
            self.assertEqual(answer["type"], "failed")
            self.assertIn("protocol 1", answer["message"])
            self.assertIn("'2'", answer["message"])
            self.assertIsNone(_wire.read_frame(backend.process.stdout))
            self.assertEqual(backend.process.wait(timeout=10), 0)

    def test_a_run_before_hello_fails(self):
        with Backend(MISBEHAVE) as backend:
            answer, _ = backend.request(matmul_run("lists")[0])
            self.assertEqual(answer["type"], "failed")
            self.assertIn("before the hello", answer["message"])

    def test_what_kernels_write_to_stdout_ends_up_on_stderr(self):
        with Backend(MISBEHAVE) as backend:
            backend.hello()
            answer, _ = backend.request(matmul_run("shout")[0])
            status, stderr = backend.close()
        self.assertEqual((answer["type"], status), ("output", 0))
        for line in ("print() from a kernel", "sys.stdout.write from a kernel",
                     "os.write(1) from a kernel"):
            self.assertIn(line, stderr)

    def test_exit_status_zero_at_eof_after_runs(self):
        with Backend(MISBEHAVE) as backend:
            backend.hello()
            backend.request(matmul_run("lists")[0])
            status, _ = backend.close()
        self.assertEqual(status, 0)


class InputTest(unittest.TestCase):
    """What a kernel receives, seen through the probe backend's unsupported reasons."""

    def probe(self, frame):
        with Backend(PROBE) as backend:
            backend.hello()
            answer, tensors = backend.request(frame)
        self.assertEqual(answer["type"], "unsupported", answer)
        self.assertEqual(tensors, {})
        return json.loads(answer["reason"])

    def test_col_inputs_arrive_in_logical_layout(self):
        for a_layout, b_layout in [("col", "row"), ("row", "col"), ("col", "col")]:
            with self.subTest(a=a_layout, b=b_layout):
                frame, a, b = matmul_run("probe", batch=2, m=2, n=3, k=5,
                                         a_layout=a_layout, b_layout=b_layout)
                seen = self.probe(frame)
                self.assertEqual(seen["A"]["shape"], [2, 2, 5])
                self.assertEqual(seen["B"]["shape"], [2, 5, 3])
                self.assertEqual(seen["A"]["values"], a.ravel().tolist())
                self.assertEqual(seen["B"]["values"], b.ravel().tolist())
                self.assertFalse(seen["A"]["writeable"])

    def test_a_broadcast_b_arrives_broadcast_to_every_batch_entry(self):
        frame, a, b = matmul_run("probe", batch=3, m=2, n=3, k=4, b_broadcast=True,
                                 b_layout="col")
        seen = self.probe(frame)
        self.assertEqual(seen["B"]["shape"], [3, 4, 3])
        self.assertEqual(seen["B"]["values"], np.broadcast_to(b, (3, 4, 3)).ravel().tolist())
        self.assertEqual(seen["fields"]["b_broadcast"], True)

    def test_stored_dtypes_and_the_problem_object(self):
        for variant, dtype, wire in [("f32", np.float32, "float32"),
                                     ("f16", np.float16, "float16"),
                                     ("f16n", np.float16, "float16"),
                                     ("bf16", BF16, "bfloat16")]:
            with self.subTest(variant):
                frame, _, _ = matmul_run("probe", variant, dtype, case=f"id-{variant}",
                                         batch=2, m=3, n=4, k=5, a_layout="col")
                seen = self.probe(frame)
                self.assertEqual(seen["A"]["dtype"], wire)
                self.assertEqual(seen["B"]["dtype"], wire)
                self.assertEqual(seen["variant"], variant)
                self.assertEqual(seen["dtype"], wire)
                self.assertEqual(seen["output_dtype"], wire)
                self.assertEqual(seen["output_shape"], [2, 3, 4])
                self.assertEqual(seen["case"], f"id-{variant}")
                self.assertEqual(seen["kernel"], "probe")
                self.assertEqual(seen["fields"], matmul_problem(2, 3, 4, 5, a_layout="col"))
                self.assertIn("a_layout='col'", seen["repr"])
                self.assertIn(f"case='id-{variant}'", seen["repr"])

    def attention(self, causal, window, len_q, len_kv, heads_q=4, heads_kv=2, scale=None):
        problem = {"batch": 1, "heads_q": heads_q, "heads_kv": heads_kv, "len_q": len_q,
                   "len_kv": len_kv, "d_qk": 2, "d_v": 3, "causal": causal, "window": window,
                   "scale": 0.25 if scale is None else scale, "custom_scale": scale is not None}
        q = np.zeros((1, heads_q, len_q, 2), np.float32)
        k = np.zeros((1, heads_kv, len_kv, 2), np.float32)
        v = np.zeros((1, heads_kv, len_kv, 3), np.float32)
        frame = run_frame("attention", "probe", "f32", problem, [("Q", q), ("K", k), ("V", v)],
                          (1, heads_q, len_q, 3), "F32")
        return self.probe(frame)

    def test_attention_masks_are_aligned_to_the_end(self):
        def expected(causal, window, len_q, len_kv):
            rows = []
            for i in range(len_q):
                position = i + len_kv - len_q
                rows.append([(not causal or j <= position) and (not window or j > position - window)
                             for j in range(len_kv)])
            return rows

        for causal, window, len_q, len_kv in [(True, None, 3, 5), (True, None, 5, 3),
                                              (False, 2, 4, 6), (True, 2, 6, 4),
                                              (False, None, 2, 2), (True, 1, 3, 3)]:
            with self.subTest(causal=causal, window=window, len_q=len_q, len_kv=len_kv):
                seen = self.attention(causal, window, len_q, len_kv)
                want = expected(causal, window, len_q, len_kv)
                self.assertEqual(seen["mask"], want)
                self.assertEqual(seen["visible"], want)
                self.assertEqual(seen["visible_keys"],
                                 [[j for j, v in enumerate(row) if v] for row in want])
                self.assertEqual(seen["window"], window or 0)
        # A concrete row, so the helper above is not the only witness: causal, 3 queries and
        # 5 keys puts query 0 at position 2.
        self.assertEqual(self.attention(True, None, 3, 5)["mask"][0],
                         [True, True, True, False, False])

    def test_attention_heads_and_scale(self):
        seen = self.attention(False, None, 1, 1, heads_q=8, heads_kv=2, scale=0.5)
        self.assertEqual(seen["kv_heads"], [0, 0, 0, 0, 1, 1, 1, 1])
        self.assertEqual((seen["scale"], seen["custom_scale"]), (0.5, True))
        self.assertEqual(seen["Q"]["shape"], [1, 8, 1, 2])

    def test_quantized_bytes_arrive_as_uint8(self):
        raw = np.arange(34, dtype=np.uint8)
        frame = run_frame("dequantize", "probe", "f32", {"format": "q8_0", "rows": 1, "cols": 32},
                          [("Q", raw)], (1, 32), "F32")
        seen = self.probe(frame)
        self.assertEqual(seen["Q"]["dtype"], "uint8")
        self.assertEqual(seen["Q"]["values"], list(range(34)))
        self.assertEqual((seen["format"], seen["rows"], seen["cols"]), ("q8_0", 1, 32))
        self.assertEqual(seen["output_dtype"], "float32")


class AnswerTest(unittest.TestCase):
    """How answers come back, through the misbehaving backend."""

    @classmethod
    def setUpClass(cls):
        cls.backend = Backend(MISBEHAVE)
        cls.backend.hello()

    @classmethod
    def tearDownClass(cls):
        status, cls.stderr = cls.backend.close()
        assert status == 0, (status, cls.stderr)

    def ask(self, kernel, variant="f32", dtype=np.float32, **shape):
        frame, a, b = matmul_run(kernel, variant, dtype, **shape)
        answer, tensors = self.backend.request(frame)
        return answer, tensors, a, b

    def test_writes_to_stdout_do_not_corrupt_the_stream(self):
        answer, tensors, a, b = self.ask("shout")
        self.assertEqual(answer["type"], "output")
        np.testing.assert_array_equal(tensors["out"], a @ b)
        # the next request still lines up
        answer, tensors, a, b = self.ask("shout", m=3)
        np.testing.assert_array_equal(tensors["out"], a @ b)

    def test_standard_input_is_not_the_protocol(self):
        answer, tensors, _, _ = self.ask("stdin")
        self.assertEqual(answer["type"], "output")
        self.assertEqual(np.unique(tensors["out"]).tolist(), [0.0])

    def test_an_exception_fails_the_case_with_its_traceback(self):
        answer, tensors, _, _ = self.ask("raises", m=7)
        self.assertEqual(answer["type"], "failed")
        self.assertEqual(tensors, {})
        message = answer["message"]
        self.assertTrue(message.startswith("matmul/raises raised ValueError: bad things at m=7"),
                        message)
        self.assertIn("inner_helper", message)
        self.assertIn("misbehave.py", message)

    def test_unsupported_skips_with_the_reason(self):
        answer, _, _, _ = self.ask("skip", m=5)
        self.assertEqual(answer, {"type": "unsupported", "reason": "no m=5 here"})

    def test_an_unavailable_variant_is_unsupported_with_its_reason(self):
        answer, _, _, _ = self.ask("partly", "bf16", BF16)
        self.assertEqual(answer, {"type": "unsupported", "reason": "no bf16 here"})
        answer, _, _, _ = self.ask("partly", "f32", np.float32)
        self.assertEqual(answer["type"], "output")

    def test_a_wrong_shape_fails_clearly(self):
        answer, _, _, _ = self.ask("shape", batch=2, m=3, n=4, k=1)
        self.assertEqual(answer["type"], "failed")
        self.assertIn("shape [1, 3, 4]", answer["message"])
        self.assertIn("output is [2, 3, 4]", answer["message"])

    def test_unknown_kernels_and_variants_fail_naming_them(self):
        answer, _, _, _ = self.ask("nonesuch")
        self.assertEqual(answer["type"], "failed")
        self.assertIn("no kernel matmul/nonesuch", answer["message"])
        answer, _, _, _ = self.ask("raw64", "bf16", BF16)
        self.assertEqual(answer["type"], "failed")
        self.assertIn("raw64 has no variant 'bf16'", answer["message"])

    def test_garbage_frames_fail_and_serving_goes_on(self):
        answer, _ = self.backend.request(b"not safetensors at all")
        self.assertEqual(answer["type"], "failed")
        self.assertIn("not safetensors", answer["message"])
        answer, _ = self.backend.request(_wire.encode({"type": "dance"}))
        self.assertEqual(answer["type"], "failed")
        self.assertIn("'dance'", answer["message"])
        answer, _ = self.backend.request(_wire.encode({"type": "run", "op": "matmul"}))
        self.assertEqual(answer["type"], "failed")
        self.assertIn("no case, kernel, variant, problem, inputs, output", answer["message"])
        answer, _, _, _ = self.ask("lists")
        self.assertEqual(answer["type"], "output")

    def test_layout_mismatch_between_listing_and_tensor_fails(self):
        frame, a, b = matmul_run("lists", m=2, k=5)
        metadata, tensors = _wire.decode(frame)
        inputs = json.loads(metadata["inputs"])
        inputs[0]["layout"] = "col"  # the bytes are still row-major [1, 2, 5]
        metadata["inputs"] = json.dumps(inputs)
        answer, _ = self.backend.request(_wire.encode(metadata, list(tensors.items())))
        self.assertEqual(answer["type"], "failed")
        self.assertIn("input A is stored as [1, 2, 5]; a col [1, 2, 5] needs [1, 5, 2]",
                      answer["message"])

    def test_results_are_rounded_to_the_output_dtype(self):
        # float64 1 + 2^-11 + 2^-40: through f32 a tie, so even (1.0) in f16; bf16 likewise.
        cases = [("f16", np.float16, 1 + 2**-11 + 2**-40, 0x3C00),
                 ("f16n", np.float16, 1 + 3 * 2**-11, 0x3C02),
                 ("bf16", BF16, 1 + 2**-8 + 2**-40, 0x3F80),
                 ("bf16", BF16, -(1 + 3 * 2**-8), 0xBF82)]
        for variant, dtype, value, bits in cases:
            with self.subTest(variant=variant, value=value):
                frame, _, _ = matmul_run("value", variant, dtype, case=float.hex(value))
                answer, tensors = self.backend.request(frame)
                self.assertEqual(answer["type"], "output", answer)
                out = tensors["out"]
                self.assertEqual(out.dtype, dtype)
                self.assertEqual(out.view(np.uint16).ravel().tolist(), [bits] * 6)
        frame, _, _ = matmul_run("value", case=float.hex(1 + 2**-24 + 2**-40))
        _, tensors = self.backend.request(frame)
        self.assertEqual(tensors["out"].view(np.uint32).ravel().tolist(), [0x3F800001] * 6)

    def test_the_output_dtype_is_sent_bit_for_bit(self):
        raw = np.array([0x7D01, 0xFC00, 0x8000, 0x0001, 0x3555, 0xFE01, 0x7BFF, 0x0400, 0x1234],
                       dtype=np.uint16)
        a = raw.view(np.float16).reshape(1, 3, 3)
        frame = run_frame("matmul", "same", "f16", matmul_problem(1, 3, 3, 3),
                          [("A", a), ("B", a)], (1, 3, 3), "F16")
        answer, tensors = self.backend.request(frame)
        self.assertEqual(answer["type"], "output")
        self.assertEqual(tensors["out"].view(np.uint16).ravel().tolist(), raw.tolist())

    def test_array_likes_and_lists_are_accepted(self):
        for kernel in ("arraylike", "lists"):
            with self.subTest(kernel):
                answer, tensors, a, b = self.ask(kernel, "bf16", BF16, m=3, n=2, k=4)
                self.assertEqual(answer["type"], "output")
                self.assertEqual(tensors["out"].dtype, BF16)
                want = (a.astype(np.float32) @ b.astype(np.float32)).astype(BF16)
                np.testing.assert_array_equal(tensors["out"], want)

    def test_raw_results_keep_their_dtype(self):
        answer, tensors, a, b = self.ask("raw64")
        self.assertEqual(answer["type"], "output")
        self.assertEqual(tensors["out"].dtype, np.float64)
        np.testing.assert_array_equal(tensors["out"], a.astype(np.float64) @ b)

    def test_quantize_answers_are_bytes(self):
        x = np.zeros((1, 64), np.float32)
        frame = run_frame("quantize", "bytes", "f32", {"format": "q8_0", "rows": 1, "cols": 64},
                          [("X", x)], (68,), "U8")
        answer, tensors = self.backend.request(frame)
        self.assertEqual(answer["type"], "output")
        self.assertEqual(tensors["out"].dtype, np.uint8)
        self.assertEqual(tensors["out"].tolist(), list(range(68)))
        frame = run_frame("quantize", "bytes", "f32", {"format": "q8_0", "rows": 2, "cols": 32},
                          [("X", np.zeros((2, 32), np.float32))], (68,), "U8")
        answer, _ = self.backend.request(frame)
        self.assertEqual(answer["type"], "failed")
        self.assertIn("uint8", answer["message"])


if __name__ == "__main__":
    unittest.main()
