"""Serve numpy (or torch, JAX, ...) kernels to crosscheck over its process protocol.

Three steps: write a function that computes the op from numpy inputs, declare it with
:func:`kernel`, and call :func:`serve` when the script runs::

    import numpy as np
    from crosscheck_backend import kernel, serve

    @kernel(op="matmul", name="np", precisions=["f32", "bf16"], accumulator="f32")
    def matmul(problem, a, b):       # a: [batch, m, k], b: [batch, k, n]
        return np.matmul(a.astype(np.float32), b.astype(np.float32))

    if __name__ == "__main__":
        serve(name="my-backend")

then ``crosscheck run --backend-cmd 'python3 my_kernels.py'``. The protocol is in
``docs/protocol.md``.

Inputs reach a kernel as numpy arrays in their stored dtype (float32, float16,
``ml_dtypes.bfloat16``; uint8 1-D bytes for quantized data) and in logical layout: a
column-major input is a transposed view, and a broadcast matmul B is
``np.broadcast_to(B, (batch, k, n))``. They may be read-only views of the request's buffer:
copy (``np.array(x)``) before writing into one.
"""

from ._capture import capture
from ._output import OutputError, prepare_output
from ._problem import Problem
from ._registry import Kernel, kernel
from ._serve import PROTOCOL, Unsupported, declare, serve

__all__ = [
    "PROTOCOL",
    "Kernel",
    "OutputError",
    "Problem",
    "Unsupported",
    "capture",
    "declare",
    "kernel",
    "prepare_output",
    "serve",
]

__version__ = "0.1.0"
