"""A correct numpy backend for crosscheck: matmul, attention and Q8_0 dequantization.

    crosscheck run --backend-cmd 'python3 examples/python/numpy_kernels.py'
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # this repository's adapter

from _numpy_ops import attention_f32, dequantize_q8_0, matmul_f32  # noqa: E402
from crosscheck_backend import Unsupported, kernel, serve  # noqa: E402


@kernel(
    op="matmul",
    name="np",
    precisions=["f32", "f16", "bf16"],
    summary="numpy.matmul on float32 copies (BLAS)",
    accumulator="f32",
    # BLAS picks its blocking from the matrix sizes, so a row computed in a smaller launch may
    # be summed in another order.
    contract={"deterministic": True, "batch_invariant": False},
)
def matmul(problem, a, b):
    return matmul_f32(a, b)


@kernel(
    op="attention",
    name="np",
    precisions=["f32", "f16", "bf16"],
    summary="two-pass softmax in float32, one query row at a time",
    accumulator="f32",
    contract={"softmax": "two-pass", "exp_ulp": 1, "div_ulp": 0.5, "deterministic": True,
              "batch_invariant": True},
)
def attention(problem, q, k, v):
    return attention_f32(problem, q, k, v, problem.mask())


@kernel(op="dequantize", name="q8_0", summary="GGML Q8_0 blocks to float32")
def dequantize(problem, raw):
    if problem.format != "q8_0":
        raise Unsupported(f"only q8_0, not {problem.format}")
    return dequantize_q8_0(problem, raw)


if __name__ == "__main__":
    serve(name="numpy-ref", api="numpy")
