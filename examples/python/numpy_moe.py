"""A numpy backend for crosscheck's MoE ops (docs/moe.md): the grouped GEMMs in DeepGEMM's
contiguous and masked layouts and the routed top-k combination, float operands, every product
through numpy's float32 matmul. A second kernel, ``np_writes_padding``, zeroes the rows no expert
owns even where the problem says to leave them untouched: crosscheck must fail it.

    crosscheck run --backend-cmd 'python3 examples/python/numpy_moe.py' --backend numpy-moe
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # this repository's adapter

from crosscheck_backend import Unsupported, kernel, serve  # noqa: E402

CONTRACT = {"deterministic": True, "batch_invariant": False}  # BLAS blocks by size


def contiguous_experts(problem, grouping):
    """The expert of every row (-1 for padding), from m_indices or the prefix-sum offsets."""
    if problem.grouping == "indices":
        return grouping.astype(np.int64)
    experts = np.full(problem.m, -1, dtype=np.int64)
    start = 0
    for e, end in enumerate(grouping.tolist()):
        experts[start:end] = e
        start = -(-end // problem.alignment) * problem.alignment
    return experts


def grouped(problem, a, b, experts, writes_padding=False):
    """Rows of ``a`` (rows x k) times their experts' ``b`` [experts, k, n], in float32."""
    if problem.fp8:
        raise Unsupported("float operands only")
    keep = problem.padding == "untouched" and not writes_padding
    out = problem.out.astype(np.float32) if keep else np.zeros(
        (len(experts), problem.n), dtype=np.float32)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    for e in np.unique(experts[experts >= 0]):
        rows = np.flatnonzero(experts == e)
        out[rows] = np.matmul(a32[rows], b32[e])
    if keep:
        # Rows no expert owns go back bit for bit as they came.
        return np.where((experts >= 0)[:, None], out.astype(problem.out.dtype), problem.out)
    return out


@kernel(op="moe_contiguous", name="np", precisions=["f32", "f16", "bf16"],
        summary="numpy float32 matmul per expert", accumulator="f32", contract=CONTRACT)
def contiguous(problem, a, b, grouping):
    return grouped(problem, a, b, contiguous_experts(problem, grouping))


@kernel(op="moe_contiguous", name="np_writes_padding", precisions=["f32"],
        summary="as np, but zeroes padding rows declared untouched", accumulator="f32",
        contract=CONTRACT)
def contiguous_writes_padding(problem, a, b, grouping):
    return grouped(problem, a, b, contiguous_experts(problem, grouping), writes_padding=True)


@kernel(op="moe_masked", name="np", precisions=["f32", "f16", "bf16"],
        summary="numpy float32 matmul per expert over its masked_m rows", accumulator="f32",
        contract=CONTRACT)
def masked(problem, a, b, masked_m):
    rows = np.arange(problem.max_m)
    experts = np.where(rows[None, :] < masked_m[:, None], np.arange(problem.experts)[:, None], -1)
    flat = a.reshape(problem.experts * problem.max_m, problem.k)
    if problem.padding == "untouched":
        problem.out = problem.out.reshape(-1, problem.n)
    out = grouped(problem, flat, b, experts.reshape(-1))
    return out.reshape(problem.output_shape)


@kernel(op="moe_routed", name="np", precisions=["f32", "f16", "bf16"],
        summary="per slot numpy float32 matmul, weighted and summed in slot order",
        accumulator="f32", contract=CONTRACT)
def routed(problem, x, w, ids, weights):
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    out = np.zeros((problem.tokens, problem.n), dtype=np.float32)
    with np.errstate(all="ignore"):
        for j in range(problem.top_k):
            for e in np.unique(ids[:, j][ids[:, j] >= 0]):
                tokens = np.flatnonzero(ids[:, j] == e)
                out[tokens] += weights[tokens, j][:, None] * np.matmul(x32[tokens], w32[e])
    return out


if __name__ == "__main__":
    serve(name="numpy-moe", api="numpy")
