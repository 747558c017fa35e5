"""The problem object a kernel receives: the problem JSON's keys as attributes, plus helpers."""

import math

import numpy as np

from ._contract import QUANT_OPS, VARIANT_DTYPES, check_op

#: The problem JSON's keys, per op (every key is always present on the wire).
KEYS = {
    "matmul": ("batch", "m", "n", "k", "a_layout", "b_layout", "b_broadcast"),
    "attention": (
        "batch", "heads_q", "heads_kv", "len_q", "len_kv", "d_qk", "d_v",
        "causal", "window", "scale", "custom_scale",
    ),
    "quantize": ("format", "rows", "cols"),
    "dequantize": ("format", "rows", "cols"),
    "qmatmul": ("weights", "activations", "m", "n", "k"),
    "moe_contiguous": (
        "experts", "m", "n", "k", "alignment", "grouping", "padding", "b_layout", "fp8",
    ),
    "moe_masked": ("experts", "max_m", "n", "k", "padding", "b_layout", "fp8"),
    "moe_routed": ("tokens", "experts", "top_k", "n", "k", "b_layout", "fp8"),
}

_FP8_TILE = 128
_GGML_BLOCK = 32


def encoded_len(fmt, rows, cols):
    """Bytes of a rows x cols matrix in quantized format ``fmt`` (see docs/formats.md)."""
    tiles = lambda n: -(-n // _FP8_TILE)  # noqa: E731 (ceil division)
    if fmt in ("q8_0", "q4_0") and cols % _GGML_BLOCK:
        raise ValueError(f"{fmt} needs rows of a multiple of 32 values, not {cols}")
    sizes = {
        "q8_0": lambda: rows * (cols // _GGML_BLOCK) * (2 + _GGML_BLOCK),
        "q4_0": lambda: rows * (cols // _GGML_BLOCK) * (2 + _GGML_BLOCK // 2),
        "int8": lambda: rows * (4 + cols),
        "fp8-e4m3": lambda: rows * cols,
        "fp8-e4m3-1x128": lambda: 4 * rows * tiles(cols) + rows * cols,
        "fp8-e4m3-128x128": lambda: 4 * tiles(rows) * tiles(cols) + rows * cols,
    }
    if fmt not in sizes:
        raise ValueError(f"unknown quantized format {fmt!r}; the formats are {', '.join(sizes)}")
    return sizes[fmt]()


class Problem:
    """One problem: every key of the op's problem JSON is an attribute.

    Matmul: ``batch, m, n, k, a_layout, b_layout, b_broadcast``. Attention: ``batch, heads_q,
    heads_kv, len_q, len_kv, d_qk, d_v, causal, window, scale, custom_scale`` (``window`` is 0
    when there is none). Quantize and dequantize: ``format, rows, cols``. Quantized matmul:
    ``weights, activations, m, n, k``. MoE: ``moe_contiguous`` ``experts, m, n, k, alignment,
    grouping, padding, b_layout, fp8``; ``moe_masked`` ``experts, max_m, n, k, padding, b_layout,
    fp8``; ``moe_routed`` ``tokens, experts, top_k, n, k, b_layout, fp8`` (docs/moe.md). For a MoE
    problem whose padding is ``untouched``, ``out`` is the output as it is before the kernel runs
    (the harness's poison): return it unchanged where no expert owns a row.

    Also: ``op``; ``kernel``, ``variant`` (label, e.g. ``"f16n"``) and ``case`` (the case id)
    when the harness sent the problem (else ``None``); ``dtype`` (numpy dtype of the variant's
    tensors), ``output_shape`` (tuple) and ``output_dtype``.
    """

    def __init__(self, op, fields, kernel=None, variant=None, case=None, output_shape=None,
                 output_dtype=None):
        check_op(op)
        if op == "moe_routed":
            fields = {"fp8": False, **fields}  # optional in the protocol, as before FP8 routing
        missing = [key for key in KEYS[op] if key not in fields]
        if missing:
            raise ValueError(f"{op} problem without {', '.join(missing)}: {fields}")
        if variant is not None and variant not in VARIANT_DTYPES:
            raise ValueError(f"unknown variant {variant!r}")
        self.op = op
        self.kernel = kernel
        self.variant = variant
        self.case = case
        self._fields = {key: fields[key] for key in KEYS[op]}
        self.out = None
        self._output_shape = tuple(output_shape) if output_shape is not None else None
        self._output_dtype = np.dtype(output_dtype) if output_dtype is not None else None
        self._check()

    # Construction -------------------------------------------------------------------------

    @classmethod
    def matmul(cls, batch=1, *, m, n, k, a_layout="row", b_layout="row", b_broadcast=False,
               variant=None):
        """A matmul problem: C[b] = A[b] . B[b or 0], A [batch, m, k], B [batch or 1, k, n]."""
        return cls("matmul", {"batch": batch, "m": m, "n": n, "k": k, "a_layout": a_layout,
                              "b_layout": b_layout, "b_broadcast": b_broadcast}, variant=variant)

    @classmethod
    def attention(cls, batch, heads_q, heads_kv, len_q, len_kv, d_qk, d_v, causal=False,
                  window=None, scale=None, variant=None):
        """An attention problem. ``window`` None or 0 means none; ``scale`` None means the
        default 1/sqrt(d_qk), anything else is a custom scale, rounded to f32."""
        if isinstance(d_qk, bool) or not isinstance(d_qk, (int, np.integer)) or d_qk < 1:
            raise ValueError(f"attention problem: d_qk must be an integer >= 1, not {d_qk!r}")
        if scale is None:
            scale, custom = 1.0 / math.sqrt(d_qk), False
        else:
            scale, custom = float(np.float32(scale)), True
            if not math.isfinite(scale):
                raise ValueError(f"attention problem: the custom scale {scale!r} is not finite")
        return cls("attention", {
            "batch": batch, "heads_q": heads_q, "heads_kv": heads_kv, "len_q": len_q,
            "len_kv": len_kv, "d_qk": d_qk, "d_v": d_v, "causal": causal,
            "window": window or None, "scale": scale, "custom_scale": custom,
        }, variant=variant)

    @classmethod
    def quantize(cls, format, rows, cols):  # noqa: A002 (the protocol's key)
        """Quantize a rows x cols f32 matrix to ``format``."""
        return cls("quantize", {"format": format, "rows": rows, "cols": cols}, variant="f32")

    @classmethod
    def dequantize(cls, format, rows, cols):  # noqa: A002 (the protocol's key)
        """Dequantize a rows x cols matrix stored in ``format``."""
        return cls("dequantize", {"format": format, "rows": rows, "cols": cols}, variant="f32")

    @classmethod
    def qmatmul(cls, weights, activations, m, n, k):
        """C = A . W^T with W (n x k) in format ``weights`` and A (m x k) in ``activations``
        (None for f32 activations)."""
        return cls("qmatmul", {"weights": weights, "activations": activations, "m": m, "n": n,
                               "k": k}, variant="f32")

    @classmethod
    def from_dict(cls, fields):
        """A problem from a dict holding ``"op"`` and the problem's keys.

        For attention, ``scale`` may be left out (the default 1/sqrt(d_qk)) and ``window`` may
        be None, 0 or absent. For matmul, layouts default to ``row`` and ``b_broadcast`` to
        False. A ``"variant"`` key is kept.
        """
        fields = dict(fields)
        op = fields.pop("op", None)
        if op is None:
            raise ValueError("a problem dict needs an 'op' key")
        check_op(op)
        variant = fields.pop("variant", None)
        if op == "attention":
            missing = [key for key in KEYS[op][:7] if key not in fields]
            if missing:
                raise ValueError(f"attention problem without {', '.join(missing)}: {fields}")
            custom = fields.get("custom_scale", fields.get("scale") is not None)
            return cls.attention(*(fields[key] for key in KEYS[op][:7]),
                                 causal=fields.get("causal", False), window=fields.get("window"),
                                 scale=fields.get("scale") if custom else None, variant=variant)
        if op == "matmul":
            fields.setdefault("a_layout", "row")
            fields.setdefault("b_layout", "row")
            fields.setdefault("b_broadcast", False)
        if op in QUANT_OPS or op == "qmatmul":
            variant = variant or "f32"
        return cls(op, fields, variant=variant)

    # Attributes ---------------------------------------------------------------------------

    def __getattr__(self, key):
        fields = self.__dict__.get("_fields")
        if fields is not None and key in fields:
            if key == "window":
                return fields[key] or 0
            return fields[key]
        raise AttributeError(f"a {self.__dict__.get('op')} problem has no {key!r}")

    @property
    def dtype(self):
        """The numpy dtype of the variant's tensors (float32, float16 or bfloat16), or None
        when the variant is not known."""
        return VARIANT_DTYPES.get(self.variant)

    @property
    def output_shape(self):
        """The shape the output must have, as a tuple."""
        if self._output_shape is not None:
            return self._output_shape
        f = self._fields
        if self.op == "matmul":
            return (f["batch"], f["m"], f["n"])
        if self.op == "attention":
            return (f["batch"], f["heads_q"], f["len_q"], f["d_v"])
        if self.op == "quantize":
            return (encoded_len(f["format"], f["rows"], f["cols"]),)
        if self.op == "dequantize":
            return (f["rows"], f["cols"])
        if self.op == "moe_contiguous":
            return (f["m"], f["n"])
        if self.op == "moe_masked":
            return (f["experts"], f["max_m"], f["n"])
        if self.op == "moe_routed":
            return (f["tokens"], f["n"])
        return (f["m"], f["n"])

    @property
    def output_dtype(self):
        """The numpy dtype the output is sent in: the variant's dtype for matmul and attention,
        uint8 for quantize, float32 for dequantize, and for qmatmul float32, or bfloat16 in its
        bf16 variant."""
        if self._output_dtype is not None:
            return self._output_dtype
        if self.op == "quantize":
            return np.dtype(np.uint8)
        if self.op in QUANT_OPS:
            return np.dtype(np.float32)
        if self.op == "qmatmul":
            return self.dtype or np.dtype(np.float32)
        return self.dtype

    def input_shapes(self):
        """The logical shape of every input, by name, in the op's order."""
        f = self._fields
        if self.op == "matmul":
            return {"A": (f["batch"], f["m"], f["k"]),
                    "B": (1 if f["b_broadcast"] else f["batch"], f["k"], f["n"])}
        if self.op == "attention":
            return {"Q": (f["batch"], f["heads_q"], f["len_q"], f["d_qk"]),
                    "K": (f["batch"], f["heads_kv"], f["len_kv"], f["d_qk"]),
                    "V": (f["batch"], f["heads_kv"], f["len_kv"], f["d_v"])}
        if self.op == "quantize":
            return {"X": (f["rows"], f["cols"])}
        if self.op == "dequantize":
            return {"Q": (encoded_len(f["format"], f["rows"], f["cols"]),)}
        if self.op in ("moe_contiguous", "moe_masked"):
            rows = (f["m"],) if self.op == "moe_contiguous" else (f["experts"], f["max_m"])
            count = math.prod(rows)
            if f["fp8"]:
                a = (encoded_len("fp8-e4m3-1x128", count, f["k"]),)
                b = (f["experts"] * encoded_len("fp8-e4m3-128x128", f["n"], f["k"]),)
            else:
                a, b = rows + (f["k"],), (f["experts"], f["k"], f["n"])
            if self.op == "moe_masked":
                return {"A": a, "B": b, "masked_m": (f["experts"],)}
            if f["grouping"] == "indices":
                return {"A": a, "B": b, "m_indices": (f["m"],)}
            return {"A": a, "B": b, "offsets": (f["experts"],)}
        if self.op == "moe_routed" and f["fp8"]:
            return {"X": (encoded_len("fp8-e4m3-1x128", f["tokens"], f["k"]),),
                    "W": (f["experts"] * encoded_len("fp8-e4m3-128x128", f["n"], f["k"]),),
                    "topk_ids": (f["tokens"], f["top_k"]),
                    "topk_weights": (f["tokens"], f["top_k"])}
        if self.op == "moe_routed":
            return {"X": (f["tokens"], f["k"]), "W": (f["experts"], f["k"], f["n"]),
                    "topk_ids": (f["tokens"], f["top_k"]),
                    "topk_weights": (f["tokens"], f["top_k"])}
        a = ((f["m"], f["k"]) if f["activations"] is None
             else (encoded_len(f["activations"], f["m"], f["k"]),))
        return {"A": a, "W": (encoded_len(f["weights"], f["n"], f["k"]),)}

    def to_json(self):
        """The problem as the protocol's JSON object (``window`` is null when there is none)."""
        fields = dict(self._fields)
        if self.op == "attention":
            fields["window"] = fields["window"] or None
        return fields

    # Attention helpers --------------------------------------------------------------------

    def kv_head(self, h):
        """The kv head that query head ``h`` reads: h // (heads_q // heads_kv)."""
        self._need("attention")
        return h // (self.heads_q // self.heads_kv)

    def visible(self, i, j):
        """Whether query row ``i`` sees key ``j``: query i sits at position
        i + len_kv - len_q; causal needs j <= position, a window w needs j > position - w."""
        self._need("attention")
        position = i + self.len_kv - self.len_q
        if self.causal and j > position:
            return False
        if self.window and j <= position - self.window:
            return False
        return 0 <= j < self.len_kv

    def visible_keys(self, i):
        """The keys query row ``i`` sees, as a ``range`` (the masks make it contiguous; empty
        when the row sees no key)."""
        self._need("attention")
        position = i + self.len_kv - self.len_q
        stop = min(self.len_kv, position + 1) if self.causal else self.len_kv
        start = max(0, position - self.window + 1) if self.window else 0
        return range(start, max(start, stop))

    def mask(self):
        """A [len_q, len_kv] bool array: ``mask()[i, j] == visible(i, j)``."""
        self._need("attention")
        i = np.arange(self.len_q)[:, None]
        j = np.arange(self.len_kv)[None, :]
        position = i + (self.len_kv - self.len_q)
        seen = np.ones((self.len_q, self.len_kv), dtype=bool)
        if self.causal:
            seen &= j <= position
        if self.window:
            seen &= j > position - self.window
        return seen

    # Internals ----------------------------------------------------------------------------

    def _need(self, op):
        if self.op != op:
            raise AttributeError(f"only {op} problems have this helper, not {self.op}")

    def _check(self):
        f = self._fields
        dims = {
            "matmul": ("batch", "m", "n", "k"),
            "attention": KEYS["attention"][:7],
            "quantize": ("rows", "cols"),
            "dequantize": ("rows", "cols"),
            "qmatmul": ("m", "n", "k"),
            "moe_contiguous": ("experts", "m", "n", "k", "alignment"),
            "moe_masked": ("experts", "max_m", "n", "k"),
            "moe_routed": ("tokens", "experts", "top_k", "n", "k"),
        }[self.op]
        for key in dims:
            value = f[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{self.op} problem: {key} must be an integer >= 1, not {value!r}")
            f[key] = int(value)
        if self.op == "matmul":
            for key in ("a_layout", "b_layout"):
                if f[key] not in ("row", "col"):
                    raise ValueError(f"matmul problem: {key} must be 'row' or 'col', not {f[key]!r}")
            f["b_broadcast"] = bool(f["b_broadcast"])
        elif self.op == "attention":
            if f["heads_q"] % f["heads_kv"]:
                raise ValueError(
                    f"attention problem: heads_kv {f['heads_kv']} does not divide heads_q "
                    f"{f['heads_q']}"
                )
            window = f["window"]
            if window is not None and (isinstance(window, bool) or not isinstance(
                    window, (int, np.integer)) or window < 0):
                raise ValueError(f"attention problem: window must be None or >= 1, not {window!r}")
            f["window"] = int(window) if window else None
            f["causal"] = bool(f["causal"])
            f["custom_scale"] = bool(f["custom_scale"])
            f["scale"] = float(f["scale"])
        elif self.op.startswith("moe_"):
            if f["b_layout"] not in ("row", "col"):
                raise ValueError(f"{self.op} problem: b_layout must be 'row' or 'col', not "
                                 f"{f['b_layout']!r}")
            if self.op != "moe_routed" and f["padding"] not in ("zero", "untouched"):
                raise ValueError(f"{self.op} problem: padding must be 'zero' or 'untouched', "
                                 f"not {f['padding']!r}")
            f["fp8"] = bool(f["fp8"])
            if self.op == "moe_contiguous" and f["grouping"] not in ("indices", "offsets"):
                raise ValueError(f"moe_contiguous problem: grouping must be 'indices' or "
                                 f"'offsets', not {f['grouping']!r}")
        elif self.op in ("quantize", "dequantize"):
            encoded_len(f["format"], f["rows"], f["cols"])
        else:
            encoded_len(f["weights"], f["n"], f["k"])
            if f["activations"] is not None:
                encoded_len(f["activations"], f["m"], f["k"])

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items())
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("kernel", "variant", "case")
            if getattr(self, name) is not None
        )
        return f"Problem({self.op}: {fields}{extra})"

