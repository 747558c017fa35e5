"""The protocol's vocabulary: ops, variants and the numeric contract, with validation.

Everything here is checked when a kernel is declared, so a typo fails at import time with a
message naming it instead of making the harness list the backend as unavailable.
"""

import math
import numbers

import ml_dtypes
import numpy as np

#: Every op, with its input tensor names in protocol order.
OPS = {
    "matmul": ("A", "B"),
    "attention": ("Q", "K", "V"),
    "quantize": ("X",),
    "dequantize": ("Q",),
    "qmatmul": ("A", "W"),
    # MoE: the contiguous layout's third input is `m_indices` or `offsets` (its grouping).
    "moe_contiguous": ("A", "B", "m_indices"),
    "moe_masked": ("A", "B", "masked_m"),
    "moe_routed": ("X", "W", "topk_ids", "topk_weights"),
}

#: MoE inputs holding little-endian int32 values (sent as bytes, handed to kernels as int32).
INT32_INPUTS = ("m_indices", "offsets", "masked_m", "topk_ids")

#: Ops whose tensors have fixed dtypes; their only variant is ``f32``.
QUANT_OPS = ("quantize", "dequantize")

#: The variants of a quantized matmul: unquantized activations and the output in f32, or in
#: bf16 (W4A16 as real GEMMs run it); quantized operands stay bytes.
QMATMUL_VARIANTS = ("f32", "bf16")

#: Variant labels and the numpy dtype their matmul and attention tensors are stored in.
VARIANT_DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "f16n": np.dtype(np.float16),
}

_CHOICES = {
    "accumulator": ("f16", "f32", "f64", "i32"),
    "output_rounding": ("nearest-even", "faithful"),
    "subnormals": ("preserved", "may-flush"),
    "softmax": ("two-pass", "online"),
    "arithmetic": ("nearest", "faithful"),
    "non_finite": ("ieee", "finite-only"),
    "scale_rule": ("floor", "ceil", "even", "rceil"),
    "element_rounding": ("even", "away"),
}
_NUMBERS = ("exp_ulp", "exp_ulp_per_unit", "div_ulp", "inverse_sqrt_ulp")
_BOOLS = (
    "deterministic",
    "batch_invariant",
    "chunk_invariant",
    "split_invariant",
    "matches_unfused",
)

#: Every contract key the protocol knows.
CONTRACT_KEYS = tuple(_CHOICES) + _NUMBERS + ("key_tile",) + _BOOLS


def check_op(op):
    """Raises ValueError unless ``op`` is one of the protocol's ops."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; the ops are {', '.join(OPS)}")


def check_variants(op, precisions):
    """The variant labels of ``precisions`` as a tuple, checked for ``op``.

    Raises ValueError for an unknown or repeated label, an empty list, a label other than
    ``f32`` for quantize and dequantize, or other than ``f32`` and ``bf16`` for qmatmul.
    """
    if isinstance(precisions, str):
        precisions = (precisions,)
    labels = tuple(precisions)
    if not labels:
        raise ValueError(f"{op}: a kernel needs at least one precision")
    for label in labels:
        if label not in VARIANT_DTYPES:
            raise ValueError(
                f"unknown precision {label!r}; the variants are {', '.join(VARIANT_DTYPES)}"
            )
        if op in QUANT_OPS and label != "f32":
            raise ValueError(f"{op} has fixed dtypes; its only variant is f32, not {label!r}")
        if op == "qmatmul" and label not in QMATMUL_VARIANTS:
            raise ValueError(f"qmatmul's variants are f32 and bf16, not {label!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"precisions {list(labels)} name a variant twice")
    return labels


def check_contract(contract, where):
    """A copy of one variant's ``contract`` dict, checked key by key.

    ``where`` names the kernel and variant in error messages. Raises ValueError for an unknown
    key, a value outside its choices, a non-number ulp count, a non-bool flag, an online
    softmax without a ``key_tile``, or a ``key_tile`` without an online softmax.
    """
    if not isinstance(contract, dict):
        raise ValueError(f"{where}: a contract is a dict, not {type(contract).__name__}")
    checked = {}
    for key, value in contract.items():
        if key in _CHOICES:
            if value not in _CHOICES[key]:
                raise ValueError(
                    f"{where}: {key} {value!r} is not one of {', '.join(_CHOICES[key])}"
                )
        elif key in _NUMBERS:
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{where}: {key} must be a finite number >= 0, not {value!r}")
            value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        elif key == "key_tile":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{where}: key_tile must be an integer >= 1, not {value!r}")
            value = int(value)
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise ValueError(f"{where}: {key} must be True or False, not {value!r}")
        else:
            raise ValueError(
                f"{where}: unknown contract key {key!r}; the keys are {', '.join(CONTRACT_KEYS)}"
            )
        checked[key] = value
    if checked.get("softmax") == "online" and "key_tile" not in checked:
        raise ValueError(f"{where}: an online softmax needs a key_tile")
    if "key_tile" in checked and checked.get("softmax") != "online":
        raise ValueError(f"{where}: key_tile is only meaningful with softmax 'online'")
    return checked


def per_variant_contracts(contract, accumulator, labels, where):
    """One checked contract dict per variant label.

    ``contract`` is ``None``, one dict for every variant, or a dict whose keys are all variant
    labels, mapping each to its own dict (variants it leaves out get an empty contract).
    ``accumulator``, when given, overrides the ``accumulator`` key in every variant.
    """
    if contract is None:
        contract = {}
    if not isinstance(contract, dict):
        raise ValueError(f"{where}: contract must be a dict, not {type(contract).__name__}")
    keyed_by_variant = bool(contract) and all(k in VARIANT_DTYPES for k in contract)
    if not keyed_by_variant and any(k in VARIANT_DTYPES for k in contract):
        raise ValueError(
            f"{where}: the contract mixes variant labels and contract keys: {sorted(contract)}"
        )
    if keyed_by_variant:
        stray = [k for k in contract if k not in labels]
        if stray:
            raise ValueError(f"{where}: contract for {stray}, which are not among {list(labels)}")
        raw = {label: contract.get(label, {}) for label in labels}
    else:
        raw = {label: contract for label in labels}
    result = {}
    for label in labels:
        one = dict(raw[label]) if isinstance(raw[label], dict) else raw[label]
        if accumulator is not None and isinstance(one, dict):
            one["accumulator"] = accumulator
        result[label] = check_contract(one, f"{where} {label}")
    return result


def per_variant_unavailable(unavailable, labels, where):
    """The reason each unavailable variant cannot run: ``{label: reason}``.

    ``unavailable`` is ``None`` (all run), one string (none run) or a dict from label to reason.
    """
    if unavailable is None:
        return {}
    if isinstance(unavailable, str):
        if not unavailable:
            raise ValueError(f"{where}: an unavailable reason must not be empty")
        return {label: unavailable for label in labels}
    if not isinstance(unavailable, dict):
        raise ValueError(f"{where}: unavailable must be a string or a dict, not {unavailable!r}")
    for label, reason in unavailable.items():
        if label not in labels:
            raise ValueError(f"{where}: unavailable names {label!r}, not among {list(labels)}")
        if not isinstance(reason, str) or not reason:
            raise ValueError(f"{where}: the reason for {label} must be a non-empty string")
    return dict(unavailable)
