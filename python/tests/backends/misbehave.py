"""A test backend whose matmul kernels each exercise one of the adapter's duties: keeping the
protocol stream clean, reporting exceptions, skipping, refusing bad results, rounding."""

import os
import sys

import numpy as np

from crosscheck_backend import Unsupported, kernel, serve

ALL = ["f32", "f16", "bf16", "f16n"]


def product(a, b):
    return np.matmul(a.astype(np.float32), b.astype(np.float32))


@kernel(op="matmul", name="shout", precisions=ALL)
def shout(problem, a, b):
    """Writes to standard output three ways, then answers correctly."""
    print("print() from a kernel")
    sys.stdout.write("sys.stdout.write from a kernel\n")
    sys.stdout.flush()
    os.write(1, b"os.write(1) from a kernel\n")
    return product(a, b)


@kernel(op="matmul", name="stdin", precisions=ALL)
def stdin(problem, a, b):
    """Answers the number of characters it could read from standard input."""
    return np.full(problem.output_shape, len(sys.stdin.read()), dtype=np.float32)


def inner_helper(problem):
    raise ValueError(f"bad things at m={problem.m}")


@kernel(op="matmul", name="raises", precisions=ALL)
def raises(problem, a, b):
    inner_helper(problem)


@kernel(op="matmul", name="skip", precisions=ALL)
def skip(problem, a, b):
    raise Unsupported(f"no m={problem.m} here")


@kernel(op="matmul", name="shape", precisions=ALL)
def shape(problem, a, b):
    """Answers a broadcastable but wrong shape: [1, m, n] for any batch."""
    return np.zeros((1, problem.m, problem.n), dtype=np.float32)


@kernel(op="matmul", name="value", precisions=ALL)
def value(problem, a, b):
    """Answers the float64 whose hex form is the case id, everywhere."""
    return np.full(problem.output_shape, float.fromhex(problem.case), dtype=np.float64)


@kernel(op="matmul", name="same", precisions=ALL)
def same(problem, a, b):
    """Answers A itself (m = n = k): already in the output dtype, so sent bit for bit."""
    return a


class ArrayLike:
    """Stands in for a torch or JAX tensor: readable only through __array__."""

    def __init__(self, array):
        self._array = array

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)


@kernel(op="matmul", name="arraylike", precisions=ALL)
def arraylike(problem, a, b):
    return ArrayLike(product(a, b))


@kernel(op="matmul", name="lists", precisions=ALL)
def lists(problem, a, b):
    return product(a, b).tolist()


@kernel(op="matmul", name="raw64", precisions=["f32"], raw=True)
def raw64(problem, a, b):
    return product(a, b).astype(np.float64)


@kernel(op="matmul", name="partly", precisions=["f32", "bf16"],
        unavailable={"bf16": "no bf16 here"})
def partly(problem, a, b):
    return product(a, b)


@kernel(op="quantize", name="bytes")
def quantize_bytes(problem, x):
    """Answers byte i = i mod 256 as float64 (whole numbers, so accepted as bytes), or 256
    everywhere when rows == 2 (refused)."""
    n = problem.output_shape[0]
    fill = 256.0 if problem.rows == 2 else None
    return np.full(n, fill) if fill else (np.arange(n) % 256).astype(np.float64)


if __name__ == "__main__":
    serve(name="misbehave")
