"""The ``@kernel`` decorator and the module-level registry of declared kernels."""

import re

from ._contract import (
    check_op,
    check_variants,
    per_variant_contracts,
    per_variant_unavailable,
)

_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")

#: Declared kernels in declaration order, keyed by (op, name).
_REGISTRY = {}


class Kernel:
    """One declared kernel: the function and what the handshake says about it."""

    def __init__(self, function, op, name, variants, summary, contracts, unavailable, raw):
        self.function = function
        self.op = op
        self.name = name
        self.variants = variants
        self.summary = summary
        self.contracts = contracts
        self.unavailable = unavailable
        self.raw = raw

    def declaration(self):
        """The kernel's entry in the handshake's ``kernels`` list."""
        variants = []
        for label in self.variants:
            if label in self.unavailable:
                variants.append({"variant": label, "unavailable": self.unavailable[label]})
            else:
                variants.append({"variant": label, "contract": dict(self.contracts[label])})
        return {"op": self.op, "name": self.name, "summary": self.summary, "variants": variants}

    def __repr__(self):
        return f"Kernel({self.op}/{self.name}, variants={list(self.variants)})"


def kernel(
    op,
    name,
    precisions=("f32",),
    summary="",
    accumulator=None,
    contract=None,
    unavailable=None,
    raw=False,
):
    """Declares the decorated function as kernel ``name`` of ``op`` and registers it.

    The function is called as ``function(problem, *inputs)`` with the problem object and the
    inputs in the op's order (matmul: A, B; attention: Q, K, V; quantize: X; dequantize: Q;
    qmatmul: A, W) as numpy arrays in logical layout, and returns the output (see
    :func:`crosscheck_backend.prepare_output`). The decorator returns the function unchanged,
    with the declaration attached as ``function.crosscheck_kernel``.

    - ``precisions``: the variants, from ``f32``, ``f16``, ``bf16``, ``f16n`` (quantize and
      dequantize: ``f32`` only; qmatmul: ``f32`` and ``bf16``).
    - ``summary``: one line for reports; defaults to the first line of the docstring.
    - ``contract``: a dict of contract keys (``accumulator``, ``output_rounding``,
      ``subnormals``, ``exp_ulp``, ``exp_ulp_per_unit``, ``div_ulp``, ``inverse_sqrt_ulp``,
      ``softmax``, ``key_tile``, ``deterministic``, ``batch_invariant``, ``chunk_invariant``)
      for every variant, or a dict from variant label to such a dict.
    - ``accumulator``: shorthand that overrides ``contract["accumulator"]`` in every variant.
    - ``unavailable``: ``None``, a reason string (no variant can run here) or a dict from
      variant label to reason.
    - ``raw``: send the returned array as it is, without shape checks or dtype conversion.

    Raises ValueError for an unknown op, precision or contract key, a malformed value, a name
    with characters other than letters, digits, ``-`` and ``_``, or an (op, name) pair that is
    already registered.
    """
    check_op(op)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"kernel name {name!r}: use letters, digits, '-' and '_' (at least one character)"
        )
    where = f"{op}/{name}"
    if (op, name) in _REGISTRY:
        raise ValueError(f"{where} is declared twice")
    labels = check_variants(op, precisions)
    contracts = per_variant_contracts(contract, accumulator, labels, where)
    reasons = per_variant_unavailable(unavailable, labels, where)
    if not isinstance(summary, str):
        raise ValueError(f"{where}: summary must be a string")

    def register(function):
        if (op, name) in _REGISTRY:
            raise ValueError(f"{where} is declared twice")
        text = summary or _first_line(function.__doc__)
        entry = Kernel(function, op, name, labels, text, contracts, reasons, bool(raw))
        _REGISTRY[(op, name)] = entry
        function.crosscheck_kernel = entry
        return function

    return register


def registered():
    """Every kernel declared so far, in declaration order."""
    return list(_REGISTRY.values())


def as_kernel(item):
    """The :class:`Kernel` of a decorated function (or a :class:`Kernel` itself)."""
    if isinstance(item, Kernel):
        return item
    entry = getattr(item, "crosscheck_kernel", None)
    if not isinstance(entry, Kernel):
        raise ValueError(f"{item!r} was not declared with @kernel")
    return entry


def _first_line(doc):
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
