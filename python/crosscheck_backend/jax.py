"""JAX's own matmul and attention, served to crosscheck.

    python -m crosscheck_backend.jax [--device cpu|gpu|tpu] [--name NAME] [--raw-empty-rows]

Kernels:

- ``matmul/jnp``: ``jnp.matmul(A, B, precision=jax.lax.Precision.HIGHEST)`` under ``jax.jit``
  in the variant's dtype (a broadcast B is passed as one 2-D ``[k, n]`` weight).
- ``attention/dpa``: ``jax.nn.dot_product_attention`` (its ``xla`` implementation, the default)
  under ``jax.jit``, with ``scale=problem.scale``; Q, K, V are transposed to its
  ``[batch, seq, heads, dim]`` layout (GQA is native: kv heads divide query heads, query head h
  reads kv head h // (heads_q // heads_kv), as crosscheck's), ``is_causal=True`` where
  crosscheck's end-aligned causal mask equals JAX's top-left-aligned one (causal, no window,
  ``len_q == len_kv``) and otherwise an explicit end-aligned boolean ``mask``. It has no
  separate value head dimension, so cases with ``d_v != d_qk`` are answered ``unsupported``.

Rows that see no key: ``dot_product_attention`` replaces masked logits by a large finite
negative number (``-0.7 * finfo.max``), not by -inf, so a row whose every key is masked gets
equal weights on *all* keys and returns the mean of V over the masked keys. crosscheck's
semantics (and torch's since 2.5) give zeros. The adapter sets such rows to exactly 0 after the
library returns, and says so in the kernel summary; ``--raw-empty-rows`` turns the fix-up off so
that the library's own output is judged (docs/third-party.md records what that shows). No
other element is touched: every other bit judged is JAX's.

Configuration set before anything runs: ``jax_enable_x64 = False`` (the float32 world
crosscheck's contracts describe) and ``jax_default_matmul_precision = "highest"`` (the einsums
inside ``dot_product_attention`` pass ``precision=None`` for f32, which on GPU allows TF32 and on
TPU a single bf16 pass; on the CPU it changes nothing).

Each kernel's declared contract, and why, is in ``_contracts`` below and in
docs/third-party.md. What it found on the CPU that no contract covers: f16 attention does not
compile under ``jax.jit`` (declared n/a with the library's message), bf16 attention fails to
compile for degenerate shapes (len_q = len_kv = 1, or head dimension 1 with a length of 1),
bf16 probabilities are rounded to bf16 before P.V, and masked keys take the weight of a row
whose visible keys all score -inf.
"""

import argparse
import sys

import numpy as np

from . import Unsupported, kernel, serve
from ._platform import cpu_name

DEVICES = ("cpu", "gpu", "tpu")
PRECISIONS = ("f32", "f16", "bf16")
_CLEAR_EVERY = 256  # compiled shapes kept before jax.clear_caches(): soaks compile per case


def _contracts(device):
    """(matmul contract, dpa contract) for every variant."""
    if device == "cpu":
        # XLA:CPU runs every executable with denormals flushed: xla/pjrt/cpu/cpu_client.cc
        # wraps execution in tsl::port::ScopedFlushDenormal ("Set denormal and rounding
        # behavior to match the default TF ThreadPool behavior"). Measured here: an f32 or bf16
        # subnormal input to jnp.matmul reads as 0, and jnp.exp(-87.5) returns 0. f16
        # subnormals survive (they are normal numbers once widened to f32).
        # jnp.matmul on XLA:CPU: f32 dots go to Eigen's contraction (or the XNNPACK/oneDNN
        # runtime), f16/bf16 dots are widened to f32 and the f32 result rounded once (measured:
        # f16/bf16 results equal RN(exact) except next to ties). Not batch-invariant: measured
        # here, row 199 of a 200-row f32 launch differs from the same row computed alone; JAX
        # promises no bitwise equality across shapes.
        matmul = {
            "accumulator": "f32",
            "subnormals": "may-flush",
            "batch_invariant": False,
        }
        # jax.nn.dot_product_attention, implementation "xla" (jax/_src/nn/functions.py,
        # _dot_product_attention_core): logits by einsum with preferred_element_type f32
        # (f16/bf16 with DotAlgorithmPreset F16_F16_F32 / BF16_BF16_F32: f32 accumulation),
        # times jnp.array(scale, f32) (the f64 scale rounded once: 0.5 ulp), masked logits
        # replaced by -0.7 * finfo.max, then softmax in f32 -- a plain two-pass softmax
        # (max, exp(x - max), sum, true division) -- and the P.V einsum. For f16/bf16 the
        # weights are cast to the input dtype (`.astype(key.dtype)`) before P.V, a rounding
        # the contract vocabulary has no key for (see docs/third-party.md). exp: XLA:CPU's
        # vectorised f32 exp, measured here at <= 1.002 ulp over 4,000,000 arguments in
        # [-87, 0]; declared 1.5.
        dpa = {
            "accumulator": "f32",
            "softmax": "two-pass",
            "exp_ulp": 1.5,
            "div_ulp": 0.5,
            "inverse_sqrt_ulp": 0.5,
            "subnormals": "may-flush",
            "batch_invariant": False,
        }
        return matmul, dpa
    # GPU and TPU: declared from documentation, NOT verified here (no such device was lent to
    # the task that wrote this adapter). Precision.HIGHEST asks for f32 dots (on TPU: six bf16
    # passes emulating f32, documented as "full precision"); XLA:GPU compiles its fusions with
    # fast exp/division approximations and flushes subnormals; cuBLAS/cuDNN or the TPU MXU
    # choose kernels by shape.
    matmul = {"accumulator": "f32", "subnormals": "may-flush", "batch_invariant": False}
    dpa = {
        "accumulator": "f32",
        "softmax": "two-pass",
        "exp_ulp": 3,
        "exp_ulp_per_unit": 2,
        "div_ulp": 2.5,
        "inverse_sqrt_ulp": 0.5,
        "subnormals": "may-flush",
        "batch_invariant": False,
    }
    return matmul, dpa


def declare_kernels(device, fix_empty_rows=True):
    """Imports and configures JAX, declares both kernels for ``device`` and returns
    (device line, driver line)."""
    try:
        import jax
        import jax.numpy as jnp
        import jaxlib
    except ImportError as e:
        reason = f"cannot import jax: {e}"
        _declare(None, None, None, device, {p: reason for p in PRECISIONS}, fix_empty_rows)
        return f"{device} (unavailable)", reason
    jax.config.update("jax_enable_x64", False)
    jax.config.update("jax_default_matmul_precision", "highest")
    driver = f"jax {jax.__version__}, jaxlib {jaxlib.__version__}"
    try:
        target = jax.devices(device)[0]
    except RuntimeError as e:
        reason = f"JAX has no {device} device here: {str(e).splitlines()[0]}"
        _declare(jax, jnp, None, device, {p: reason for p in PRECISIONS}, fix_empty_rows)
        return f"{device} (unavailable)", driver
    _declare(jax, jnp, target, device, None, fix_empty_rows)
    kind = getattr(target, "device_kind", device)
    line = f"{kind} ({target.platform})"
    if device == "cpu":
        line = f"{cpu_name()}, {target.platform}"
    return line, driver


def _dtype(label):
    import ml_dtypes

    return {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}[label]


def _declare(jax, jnp, target, device, unavailable, fix_empty_rows):
    """Declares both kernels. ``unavailable`` (label -> reason) applies to both; when it is
    None, each kernel's variants are probed through exactly the jitted call the kernel makes,
    and a variant whose probe raises is declared unavailable with the library's message."""
    matmul_contract, dpa_contract = _contracts(device)
    calls = [0]
    matmul_unavailable = dpa_unavailable = unavailable

    if jax is not None:
        highest = jax.lax.Precision.HIGHEST

        def _matmul(a, b):
            return jnp.matmul(a, b, precision=highest)

        def _dpa(q, k, v, mask, scale, is_causal):
            return jax.nn.dot_product_attention(q, k, v, mask=mask, scale=scale,
                                                is_causal=is_causal)

        matmul_jit = jax.jit(_matmul)
        dpa_jit = jax.jit(_dpa, static_argnames=("scale", "is_causal"))

    if unavailable is None:
        def probe(call, label):
            try:
                x = jax.device_put(np.ones((1, 8, 2, 4), dtype=_dtype(label)), target)
                np.asarray(call(x))
                return None
            except Exception as e:  # noqa: BLE001 (any failure: the variant cannot run here)
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                return f"{type(e).__name__}: {first}".strip()

        matmul_unavailable, dpa_unavailable = {}, {}
        for label in PRECISIONS:
            why = probe(lambda x: matmul_jit(x[0, :, 0], x[0, :, 0].T), label)
            if why:
                matmul_unavailable[label] = f"jnp.matmul under jax.jit on {device} in {label}: {why}"
            why = probe(lambda x: dpa_jit(x, x, x, None, 0.5, False), label)
            if why:
                dpa_unavailable[label] = (
                    f"jax.nn.dot_product_attention under jax.jit on {device} in {label}: {why}"
                )

    def tick():
        calls[0] += 1
        if calls[0] % _CLEAR_EVERY == 0:
            jax.clear_caches()

    @kernel(
        op="matmul",
        name="jnp",
        precisions=PRECISIONS,
        summary=f"jnp.matmul(precision=HIGHEST) under jax.jit on {device}",
        contract=matmul_contract,
        unavailable=matmul_unavailable or None,
    )
    def matmul(problem, a, b):
        tick()
        # A broadcast B is one weight shared by every batch entry: a 2-D [k, n] matrix.
        b = b[0] if problem.b_broadcast else b
        c = matmul_jit(jax.device_put(np.asarray(a), target), jax.device_put(np.asarray(b), target))
        return np.asarray(c)

    summary = (
        f"jax.nn.dot_product_attention (xla) under jax.jit on {device}: explicit scale, native "
        f"GQA, end-aligned boolean mask (is_causal only where len_q == len_kv)"
    )
    summary += (
        "; rows that see no key set to 0 by the adapter (JAX returns the mean of V there)"
        if fix_empty_rows
        else "; output unmodified (rows that see no key are JAX's: the mean of V)"
    )

    @kernel(
        op="attention",
        name="dpa",
        precisions=PRECISIONS,
        summary=summary,
        contract=dpa_contract,
        unavailable=dpa_unavailable or None,
    )
    def dpa(problem, q, k, v):
        if problem.d_v != problem.d_qk:
            # dot_product_attention checks value's shape against [B, S, K, H] with the
            # query's H: it has no separate value head dimension.
            raise Unsupported(
                f"jax.nn.dot_product_attention needs d_v == d_qk (here {problem.d_v} and "
                f"{problem.d_qk})"
            )
        tick()
        # [batch, heads, seq, dim] -> JAX's [batch, seq, heads, dim]: a copy, exact.
        q, k, v = (jax.device_put(np.ascontiguousarray(np.swapaxes(x, 1, 2)), target)
                   for x in (q, k, v))
        mask, is_causal = None, False
        visible = problem.mask()
        if problem.causal and not problem.window and problem.len_q == problem.len_kv:
            # JAX's is_causal is jnp.tril over [T, S]: top-left aligned, which is crosscheck's
            # end alignment exactly when T == S.
            is_causal = True
        elif problem.causal or problem.window:
            mask = jax.device_put(visible[None, None], target)
        o = dpa_jit(q, k, v, mask, float(problem.scale), is_causal)
        out = np.swapaxes(np.asarray(o), 1, 2)  # back to [batch, heads, seq, d_v], exact
        if fix_empty_rows:
            empty = ~visible.any(axis=1)
            if empty.any():
                out = np.array(out)
                out[:, :, empty, :] = 0
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m crosscheck_backend.jax",
        description="Serve jnp.matmul and jax.nn.dot_product_attention to crosscheck.",
    )
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--name", default=None, help="backend name (default: jax-DEVICE)")
    parser.add_argument(
        "--raw-empty-rows",
        action="store_true",
        help="send JAX's output for rows that see no key unchanged (the mean of V) instead of 0",
    )
    args = parser.parse_args(argv)
    line, driver = declare_kernels(args.device, fix_empty_rows=not args.raw_empty_rows)
    name = args.name or (f"jax-{args.device}" + ("-raw" if args.raw_empty_rows else ""))
    serve(name=name, api="jax", device=line, driver=driver)


if __name__ == "__main__":
    main()
