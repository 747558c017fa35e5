"""A backend that misbehaves on purpose, for crosscheck's robustness tests.

One correct f32 matmul kernel, except for three problem sizes (m, n, k below), each a fault the
harness must contain to its own case: a crash, a hang, and an answer of the wrong dtype.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # this repository's adapter

from _numpy_ops import matmul_f32  # noqa: E402
from crosscheck_backend import kernel, serve  # noqa: E402

# The (m, n, k) that trigger each fault: three of the default plan's matmul cases (b1m7n5k3,
# b1m100n1k257, b1m64n64k64); every other size is computed correctly. crosscheck's
# integration tests (tests/process.rs) expect exactly these cases to fail.
CRASH_AT = (7, 5, 3)  # writes "simulated crash" to stderr and exits with status 3
HANG_AT = (100, 1, 257)  # sleeps for an hour (the harness's case timeout must kill it)
WRONG_DTYPE_AT = (64, 64, 64)  # answers float64 (raw, so the adapter does not convert it)


@kernel(op="matmul", name="np", precisions=["f32"], accumulator="f32", raw=True,
        summary="numpy.matmul, with a crash, a hang and a wrong dtype at planted sizes",
        contract={"batch_invariant": False})
def matmul(problem, a, b):
    size = (problem.m, problem.n, problem.k)
    if size == CRASH_AT:
        print("simulated crash", file=sys.stderr, flush=True)
        os._exit(3)
    if size == HANG_AT:
        time.sleep(3600)
    if size == WRONG_DTYPE_AT:
        return matmul_f32(a, b).astype("float64")
    return matmul_f32(a, b)


if __name__ == "__main__":
    serve(name="numpy-faults", api="numpy")
