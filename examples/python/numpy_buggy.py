"""The planted-bug twin of numpy_kernels.py: same kernels, same names, two bugs.

- matmul reads B with its k rows in reverse order (only when k > 1, so k = 1 cases pass);
- attention aligns the causal and window masks to the start instead of the end (query i at
  position i), which only matters when len_q != len_kv.

Dequantization is correct. crosscheck must fail the first two cells and pass the third.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # this repository's adapter

from _numpy_ops import (  # noqa: E402
    attention_f32,
    dequantize_q8_0,
    matmul_f32,
    start_aligned_mask,
)
from crosscheck_backend import Unsupported, kernel, serve  # noqa: E402


@kernel(op="matmul", name="np", precisions=["f32", "f16", "bf16"], accumulator="f32",
        summary="numpy.matmul, reading B's rows backwards (planted bug)",
        contract={"deterministic": True, "batch_invariant": False})
def matmul(problem, a, b):
    if problem.k > 1:
        b = b[..., ::-1, :]
    return matmul_f32(a, b)


@kernel(op="attention", name="np", precisions=["f32", "f16", "bf16"], accumulator="f32",
        summary="two-pass softmax, masks aligned to the start (planted bug)",
        contract={"softmax": "two-pass", "exp_ulp": 1, "div_ulp": 0.5, "deterministic": True,
                  "batch_invariant": True})
def attention(problem, q, k, v):
    return attention_f32(problem, q, k, v, start_aligned_mask(problem))


@kernel(op="dequantize", name="q8_0", summary="GGML Q8_0 blocks to float32")
def dequantize(problem, raw):
    if problem.format != "q8_0":
        raise Unsupported(f"only q8_0, not {problem.format}")
    return dequantize_q8_0(problem, raw)


if __name__ == "__main__":
    serve(name="numpy-buggy", api="numpy")
