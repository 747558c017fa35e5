"""A test backend that computes nothing: every kernel answers ``unsupported`` with a JSON
description of what it received, so tests can see the arrays and the problem object."""

import json

import numpy as np

from crosscheck_backend import Unsupported, kernel, serve


def _array(x):
    return {
        "dtype": str(x.dtype),
        "shape": list(x.shape),
        "writeable": bool(x.flags.writeable),
        "values": np.asarray(x, dtype=np.float64).ravel().tolist(),
    }


def _problem(problem):
    return {
        "op": problem.op,
        "kernel": problem.kernel,
        "variant": problem.variant,
        "case": problem.case,
        "dtype": str(problem.dtype),
        "output_shape": list(problem.output_shape),
        "output_dtype": str(problem.output_dtype),
        "repr": repr(problem),
    }


@kernel(op="matmul", name="probe", precisions=["f32", "f16", "bf16", "f16n"])
def matmul(problem, a, b):
    info = _problem(problem)
    info.update(A=_array(a), B=_array(b), fields={
        key: getattr(problem, key)
        for key in ("batch", "m", "n", "k", "a_layout", "b_layout", "b_broadcast")
    })
    raise Unsupported(json.dumps(info))


@kernel(op="attention", name="probe", precisions=["f32", "bf16"])
def attention(problem, q, k, v):
    info = _problem(problem)
    info.update(
        Q=_array(q), K=_array(k), V=_array(v),
        window=problem.window, scale=problem.scale, custom_scale=problem.custom_scale,
        causal=problem.causal,
        kv_heads=[problem.kv_head(h) for h in range(problem.heads_q)],
        mask=problem.mask().tolist(),
        visible=[[problem.visible(i, j) for j in range(problem.len_kv)]
                 for i in range(problem.len_q)],
        visible_keys=[list(problem.visible_keys(i)) for i in range(problem.len_q)],
    )
    raise Unsupported(json.dumps(info))


@kernel(op="dequantize", name="probe")
def dequantize(problem, raw):
    info = _problem(problem)
    info.update(Q=_array(raw), format=problem.format, rows=problem.rows, cols=problem.cols)
    raise Unsupported(json.dumps(info))


if __name__ == "__main__":
    serve(name="probe", device="test device", driver="test driver")
