"""Turning what a kernel returned into the exact bytes of the answer."""

import numpy as np


class OutputError(ValueError):
    """A kernel's result that cannot be sent as the case's output."""


def prepare_output(result, problem, raw=False):
    """The array to send for ``result``, the value a kernel returned for ``problem``.

    ``result`` may be a numpy array or anything ``np.asarray`` accepts: nested lists, or a
    torch or JAX tensor (through ``__array__``; a torch tensor must be on the CPU, and numpy
    cannot read torch's bfloat16, so return ``t.float()`` and let this function round it).

    With ``raw`` the array is sent as it is, in whatever dtype and shape it has (the harness
    judges or refuses it). Otherwise:

    - The shape must equal ``problem.output_shape`` exactly; a broadcastable shape is refused.
    - Float outputs (matmul, attention, dequantize, qmatmul): an array already in the output
      dtype is sent bit for bit. Anything else is rounded as crosscheck's ``OutputBuffer::write``
      rounds what a Rust kernel writes: first to float32 (``np.asarray(x, dtype=np.float32)``,
      one round-to-nearest-even step from float64), then, for f16 and bf16 outputs, from float32
      to the output dtype with round to nearest, ties to even. The two steps are not the same as
      one direct rounding from float64; they are what the contract's final rounding describes.
    - Quantize outputs are bytes: a uint8 array, or an integer or float array whose values are
      all integers in 0..255.

    Raises :class:`OutputError` with a message for the harness when none of this holds.
    """
    if result is None:
        raise OutputError("the kernel returned None; return the output array")
    try:
        array = np.asarray(result)
    except Exception as e:  # noqa: BLE001 (any conversion failure is reported the same way)
        raise OutputError(
            f"the kernel returned a {type(result).__name__} that numpy cannot read "
            f"({type(e).__name__}: {e}); return a numpy array (a torch bfloat16 tensor as "
            f".float())"
        ) from None
    if raw:
        return np.ascontiguousarray(array)
    want_shape = tuple(problem.output_shape)
    if array.shape != want_shape:
        raise OutputError(
            f"the kernel returned shape {list(array.shape)}; the output is {list(want_shape)} "
            f"(a {problem.op} output of {problem.output_dtype})"
        )
    want = np.dtype(problem.output_dtype)
    if want == np.uint8:
        return _bytes(array)
    if array.dtype == want:
        return np.ascontiguousarray(array)
    if array.dtype.kind not in "fiub" and array.dtype.name != "bfloat16":
        raise OutputError(f"the kernel returned {array.dtype} values; the output is {want}")
    with np.errstate(over="ignore", invalid="ignore"):
        single = np.asarray(array, dtype=np.float32)
        return np.ascontiguousarray(single.astype(want))


def _bytes(array):
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype.kind in "iu" or array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            wide = array.astype(np.float64)
        if np.all((wide >= 0) & (wide <= 255) & (wide == np.floor(wide))):
            return np.ascontiguousarray(wide.astype(np.uint8))
    raise OutputError(
        f"a quantize output is bytes: return uint8 values (got {array.dtype}, not all whole "
        f"numbers in 0..255)"
    )
