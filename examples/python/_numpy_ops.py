"""The numpy computations the example backends share (no declarations: each backend script
declares its own kernels, with its own bugs or faults)."""

import numpy as np


def matmul_f32(a, b):
    """A . B in float32: numpy converts the stored values exactly and hands them to BLAS."""
    return np.matmul(a.astype(np.float32), b.astype(np.float32))


def attention_f32(problem, q, k, v, mask):
    """Scaled dot-product attention in float32, one query row at a time.

    ``mask`` is the [len_q, len_kv] visibility. Each row selects its visible keys and values
    (boolean indexing, so a masked key's score and value are never read: a NaN or infinity
    there cannot leak into the row), computes scores as f32 products and f32 sums times the
    f32 scale, subtracts the row maximum, takes exp in float64 rounded once to float32 (within
    1 ulp), sums the weights in f32, accumulates weight x value in f32 and divides once by the
    weight sum (0.5 ulp). A row that sees no key stays zero. Every row is computed the same way
    whatever else the launch holds, so the result is batch-invariant and deterministic.
    """
    q, k, v = (x.astype(np.float32) for x in (q, k, v))
    scale = np.float32(problem.scale)
    out = np.zeros(problem.output_shape, dtype=np.float32)
    rows = [np.flatnonzero(mask[i]) for i in range(problem.len_q)]
    with np.errstate(all="ignore"):
        for b in range(problem.batch):
            for h in range(problem.heads_q):
                keys, values = k[b, problem.kv_head(h)], v[b, problem.kv_head(h)]
                for i, seen in enumerate(rows):
                    if seen.size == 0:
                        continue
                    scores = (keys[seen] * q[b, h, i]).sum(axis=-1, dtype=np.float32) * scale
                    shifted = scores - scores.max()
                    weights = np.exp(shifted.astype(np.float64)).astype(np.float32)
                    total = weights.sum(dtype=np.float32)
                    acc = (weights[:, None] * values[seen]).sum(axis=0, dtype=np.float32)
                    out[b, h, i] = acc / total
    return out


def start_aligned_mask(problem):
    """The visibility a kernel gets when it aligns the masks to the start (query i at position
    i) instead of the end: wrong whenever len_q != len_kv."""
    i = np.arange(problem.len_q)[:, None]
    j = np.arange(problem.len_kv)[None, :]
    seen = np.ones((problem.len_q, problem.len_kv), dtype=bool)
    if problem.causal:
        seen &= j <= i
    if problem.window:
        seen &= j > i - problem.window
    return seen


def dequantize_q8_0(problem, raw):
    """GGML Q8_0 bytes to float32: per block of 32, an f16 scale d then 32 signed codes q;
    value = float32(d) * q in float32, which is exact (11 bits times 8 bits)."""
    blocks = raw.reshape(-1, 34)
    d = np.ascontiguousarray(blocks[:, :2]).view("<f2").astype(np.float32)
    codes = np.ascontiguousarray(blocks[:, 2:]).view(np.int8).astype(np.float32)
    with np.errstate(invalid="ignore"):
        return (d * codes).reshape(problem.rows, problem.cols)
