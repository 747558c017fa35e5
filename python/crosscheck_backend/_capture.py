"""Captured cases: one file holding a run request and its answer, for ``crosscheck judge``."""

import json

import numpy as np

from . import _wire
from ._contract import OPS, VARIANT_DTYPES, check_contract
from ._output import prepare_output
from ._problem import Problem

_STORED = ("F32", "F16", "BF16", "U8")


def capture(problem, inputs, output, path, contract=None, kernel=None, backend=None):
    """Writes a captured case to ``path``: judge it with ``crosscheck judge PATH``.

    - ``problem``: a problem object (as a kernel receives it, or from ``Problem.matmul`` /
      ``Problem.attention``), or a dict with ``"op"`` and the problem's keys (for attention
      ``scale`` may be left out for the default 1/sqrt(d_qk); ``window`` None or 0 is none).
    - ``inputs``: the input arrays in logical layout, in the op's order (matmul A, B; attention
      Q, K, V; quantize X; dequantize Q; qmatmul A, W), or a dict from those names to arrays.
      Dtypes: float32, float16, ml_dtypes.bfloat16 or uint8 (raw quantized bytes). They are
      written row-major with layout ``row``; a matmul B with one batch entry (or a broadcast
      view of one) is written once with ``b_broadcast`` true.
    - ``output``: what the kernel computed. It is checked and rounded to the output dtype as
      :func:`prepare_output` does for a served kernel, so a float32 result for bf16 inputs is
      stored as the bf16 a served kernel would have sent.
    - ``contract``: the declared contract (a dict of contract keys); without it the judge holds
      the case to IEEE f32 arithmetic. ``kernel`` and ``backend`` name the case in the report.

    The variant is the problem's when it has one, else the inputs' dtype (``f32``, ``f16`` or
    ``bf16``). Raises ValueError naming the tensor or key that is wrong.
    """
    if not isinstance(problem, Problem):
        if not isinstance(problem, dict):
            raise ValueError(f"problem must be a Problem or a dict, not {type(problem).__name__}")
        problem = Problem.from_dict(problem)
    arrays = _named_inputs(problem.op, inputs)
    fields = problem.to_json()
    if problem.op == "matmul":
        arrays["B"] = _unbroadcast(arrays["B"], fields["batch"])
        fields.update(a_layout="row", b_layout="row",
                      b_broadcast=arrays["B"].ndim == 3 and arrays["B"].shape[0] == 1
                      and fields["batch"] > 1)
    variant = _variant(problem, arrays)
    written = Problem(problem.op, fields, kernel=problem.kernel, variant=variant)
    for name, shape in written.input_shapes().items():
        if arrays[name].shape != shape:
            raise ValueError(f"input {name} has shape {list(arrays[name].shape)}; this "
                             f"{problem.op} problem needs {list(shape)}")
    out = prepare_output(output, written)
    metadata = {
        "type": "run",
        "op": problem.op,
        "variant": variant,
        "problem": json.dumps(written.to_json()),
        "inputs": json.dumps([{"name": n, "shape": list(a.shape), "layout": "row"}
                              for n, a in arrays.items()]),
        "output": json.dumps({"shape": list(out.shape), "dtype": _wire.dtype_name(out.dtype)}),
    }
    if contract is not None:
        metadata["contract"] = json.dumps(check_contract(contract, "capture"))
    for key, value in (("kernel", kernel or problem.kernel), ("backend", backend)):
        if value is not None:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string, not {value!r}")
            metadata[key] = value
    tensors = [(name, np.ascontiguousarray(a)) for name, a in arrays.items()] + [("out", out)]
    data = _wire.encode(metadata, tensors)
    with open(path, "wb") as f:
        f.write(data)


def _named_inputs(op, inputs):
    names = OPS[op]
    if isinstance(inputs, dict):
        if set(inputs) != set(names):
            raise ValueError(f"{op} inputs are {', '.join(names)}, not {', '.join(inputs)}")
        items = [(name, inputs[name]) for name in names]
    else:
        values = list(inputs)
        if len(values) != len(names):
            raise ValueError(f"{op} takes {len(names)} inputs ({', '.join(names)}), "
                             f"not {len(values)}")
        items = list(zip(names, values))
    arrays = {}
    for name, value in items:
        array = np.asarray(value)
        if _wire.dtype_name(array.dtype) not in _STORED:
            raise ValueError(f"input {name} has dtype {array.dtype}; inputs are float32, "
                             f"float16, bfloat16 (ml_dtypes) or uint8")
        arrays[name] = array
    return arrays


def _unbroadcast(b, batch):
    """B itself, or its first entry when every batch entry is the same memory (a broadcast)."""
    if b.ndim == 3 and batch > 1 and b.shape[0] == batch and b.strides[0] == 0:
        return b[:1]
    return b


def _variant(problem, arrays):
    if problem.op not in ("matmul", "attention"):
        for name, dtype in _quant_dtypes(problem).items():
            if arrays[name].dtype not in dtype:
                raise ValueError(f"input {name} of {problem.op} must be "
                                 f"{' or '.join(map(str, dtype))}, not {arrays[name].dtype}")
        # A quantized matmul's unquantized activations say its variant: f32 or bf16.
        if problem.op == "qmatmul" and problem.activations is None:
            bf16 = arrays["A"].dtype == VARIANT_DTYPES["bf16"]
            return "bf16" if bf16 else "f32"
        return "f32"
    dtypes = {a.dtype for a in arrays.values()}
    if len(dtypes) != 1:
        raise ValueError(f"{problem.op} inputs must share one dtype, not "
                         f"{', '.join(f'{n}: {a.dtype}' for n, a in arrays.items())}")
    (dtype,) = dtypes
    if problem.variant is not None:
        if VARIANT_DTYPES[problem.variant] != dtype:
            raise ValueError(f"variant {problem.variant} stores {VARIANT_DTYPES[problem.variant]},"
                             f" but the inputs are {dtype}")
        return problem.variant
    for label in ("f32", "f16", "bf16"):
        if VARIANT_DTYPES[label] == dtype:
            return label
    raise ValueError(f"{problem.op} inputs are float32, float16 or bfloat16, not {dtype}")


def _quant_dtypes(problem):
    """The dtypes each input of a quantized op may have."""
    f32, u8 = (np.dtype(np.float32),), (np.dtype(np.uint8),)
    if problem.op == "quantize":
        return {"X": f32}
    if problem.op == "dequantize":
        return {"Q": u8}
    unquantized = f32 + (VARIANT_DTYPES["bf16"],)
    return {"A": unquantized if problem.activations is None else u8, "W": u8}
