"""PyTorch's own matmul and attention, served to crosscheck.

    python -m crosscheck_backend.torch --device cpu|cuda|mps|xpu|npu [--name NAME]

Kernels:

- ``matmul/torch``: ``torch.matmul(A, B)`` in the variant's dtype on the device (a broadcast B
  is passed as one 2-D ``[k, n]`` weight, as ``nn.Linear`` passes it).
- ``attention/sdpa``: ``torch.nn.functional.scaled_dot_product_attention`` with
  ``scale=problem.scale``, ``enable_gqa=True`` where the head counts differ, ``is_causal=True``
  where crosscheck's end-aligned causal mask equals torch's top-left-aligned one (causal, no
  window, ``len_q == len_kv``), and otherwise an explicit boolean ``attn_mask`` built from
  crosscheck's end-aligned visibility.

Inputs go to the device in their stored dtype and the device's result comes back bit for bit
(a bf16 result is read through an int16 view): the adapter adds no rounding of its own and does
not touch the library's output, so every bit judged is torch's. torch does not expose
``ml_dtypes``' bfloat16, so bf16 crosses the boundary as raw 16-bit words.

The precision switches are set explicitly before anything runs, so the run measures the
arithmetic the declared contracts describe, not whatever the process's defaults were:
``torch.backends.cuda.matmul.allow_tf32 = False``, ``torch.backends.cudnn.allow_tf32 = False``,
``torch.set_float32_matmul_precision("highest")`` (on the CPU, "high"/"medium" may let oneDNN
compute f32 matmuls with reduced-precision internals), ``allow_fp16_reduced_precision_reduction = False`` and
``allow_bf16_reduced_precision_reduction = False`` (cuBLAS may otherwise reduce split-K partial
sums in f16/bf16: torch's default is True for both), ``allow_fp16_accumulation = False`` and
``allow_fp16_bf16_reduction_math_sdp(False)`` (the math SDPA upcasts f16/bf16 to f32).

Each kernel's declared contract, and why, is in ``_contracts`` below and in
docs/third-party.md. In short (CPU, verified on this machine; other devices are declared from
the libraries' sources and documentation but were not run here):

- matmul: f32 accumulation; f32 deterministic only when ``MKL_CBWR`` is set (without it MKL's
  results depend on the operands' memory alignment); not batch-invariant (MKL and oneDNN pick
  kernels by shape: a row computed alone goes through a GEMV and differs by ulps; torch's
  "Numerical accuracy" notes promise no bitwise equality between batched and sliced
  computations); bf16 subnormals may flush (oneDNN's bf16 dot-product instructions,
  AVX512-BF16 ``VDPBF16PS`` and AMX, treat denormal inputs as zero and flush denormal results
  regardless of MXCSR).
- sdpa: f32 accumulation, online softmax with key tiles of 512 (the CPU flash kernel's
  ``kv_split_size``), ``exp`` within 20 ulp (the AVX512 ``exp_u20`` polynomial the CPU flash
  kernel uses), division by a reciprocal then a product (1 ulp), the scale within 1 ulp (the
  math path multiplies Q and K by the square root of the scale each), f32 deterministic only
  under ``MKL_CBWR``, not batch-invariant.

What the f16/bf16 SDPA contract cannot say: the CPU flash kernel stores the softmax weights in
the input dtype before P.V, and those cells fail on ordinary data (docs/third-party.md, T3).
"""

import argparse
import os
import platform
import sys
import warnings

import ml_dtypes
import numpy as np

from . import Unsupported, kernel, serve
from ._platform import cpu_name

DEVICES = ("cpu", "cuda", "mps", "xpu", "npu")
PRECISIONS = ("f32", "f16", "bf16")


# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------


def _contracts(device):
    """(matmul contract, sdpa contract): dicts from variant label to contract dict."""
    if device == "cpu":
        # torch.matmul on the CPU: f32 goes to MKL sgemm (or sgemv for a single row); f16 and
        # bf16 go to oneDNN (mkldnn_matmul / mkldnn_bf16_gemm / mkldnn_fp16_gemm) where the
        # CPU has the instructions, else to at::native::cpublas::gemm, whose reduced-precision
        # loops accumulate in opmath_type<T> = float; the small-batch bmm path
        # (baddbmm_cpu_kernel) also sums in opmath_t. Every path rounds once to the output
        # dtype (RNE). Measured here: f16/bf16 results equal RN(exact) except next to ties.
        # Intel MKL without Conditional Numerical Reproducibility may return different bits
        # for the same inputs at different memory alignments (MKL developer guide, "Obtaining
        # Numerically Reproducible Results"); measured here: the same 1x300 by 300x300 f32
        # product with B column-major gives different bits for 223 of 300 elements when B
        # sits at an address 8 (mod 16) instead of 0 (mod 16), and identical bits with
        # MKL_CBWR=AVX512 or COMPATIBLE. So f32 paths through MKL (sgemm/sgemv) are declared
        # deterministic only when the process runs with MKL_CBWR set.
        mkl_cnr = bool(os.environ.get("MKL_CBWR"))
        matmul = {
            "f32": {"accumulator": "f32", "batch_invariant": False, "deterministic": mkl_cnr},
            "f16": {"accumulator": "f32", "batch_invariant": False},
            # oneDNN computes bf16 GEMMs with VDPBF16PS (AVX512-BF16) or TDPBF16PS (AMX) on
            # x86 and BFMMLA/BFDOT on Arm: these read denormal bf16 inputs as zero and flush
            # denormal results whatever MXCSR/FPCR say (Intel SDM, VDPBF16PS: denormal inputs
            # are treated as zero and denormal results flushed, independent of MXCSR). Measured here: a bf16 subnormal input reads as 0 in a
            # 64x64x64 matmul. Where the CPU lacks them oneDNN converts to f32 and preserves
            # subnormals; the declaration then only lets crosscheck label a flush as FIND.
            "bf16": {"accumulator": "f32", "batch_invariant": False, "subnormals": "may-flush"},
        }
        # scaled_dot_product_attention on the CPU picks the flash kernel
        # (aten/src/ATen/native/cpu/FlashAttentionKernel.cpp) when Q, K and V share the head
        # dimension, else the math path (aten/src/ATen/native/transformers/attention.cpp):
        # - flash: scores by cpublas::gemm into an accum_t = float buffer; per key tile of
        #   kv_split_size = 512 keys (q_split_size 32/64/256 by len_q) the running max and sum
        #   are updated (an online softmax; with len_kv <= 512 there is one tile); exp by
        #   Vectorized<float>::exp_u20 ("A faster version of exp with ULP=20" on AVX512; Sleef
        #   or std::exp elsewhere, tails std::exp), rescale factors by std::exp; output divided
        #   by multiplying with 1 / sum (two roundings: 1 ulp). For f16/bf16 the weights
        #   exp(s - max) are stored in the input dtype (qk_reduced_data) before the P.V gemm,
        #   a rounding the contract vocabulary has no key for (see docs/third-party.md).
        # - math: upcasts f16/bf16 to f32, multiplies Q and K by sqrt(scale) each (so the
        #   effective scale is RN(sqrt(scale))^2: within 1 ulp), softmax via _safe_softmax,
        #   then P.V in f32.
        # The contract is the looser of the two paths on every key.
        common = {
            "accumulator": "f32",
            "softmax": "online",
            "key_tile": 512,
            "exp_ulp": 20,
            "div_ulp": 1,
            "inverse_sqrt_ulp": 1,
            "batch_invariant": False,
        }
        sdpa = {
            # Q.K^T and P.V of f32 go through cpublas::gemm, i.e. MKL sgemm (see matmul).
            "f32": dict(common, deterministic=mkl_cnr),
            "f16": dict(common),
            # bf16 Q.K^T goes through oneDNN's bf16 GEMM: subnormal inputs may read as zero.
            "bf16": dict(common, subnormals="may-flush"),
        }
        return matmul, sdpa

    # GPUs and other accelerators: declared from the libraries' documentation and sources,
    # NOT verified here (no such device was lent to the task that wrote this adapter).
    # - matmul: cuBLAS (or the vendor BLAS) with CUBLAS_COMPUTE_32F for f32/f16/bf16 once TF32
    #   and reduced-precision reductions are switched off (above); kernels and split-K are
    #   chosen by shape, so rows are not batch-invariant.
    # - sdpa: FlashAttention-2 / memory-efficient / cuDNN kernels: online softmax over key
    #   blocks of 32 to 128 (kBlockN; 32 is the smallest for the head dims crosscheck draws,
    #   and the bound only loosens as the declared tile shrinks), exp2 through ex2.approx with
    #   the scale folded into the argument (declared as WGSL's 3 + 2|x| ulp), fast reciprocal
    #   division (2.5 ulp), flush-to-zero arithmetic (built with --use_fast_math). As on the
    #   CPU, f16/bf16 weights are rounded to the input dtype before P.V.
    gpu_matmul = {"accumulator": "f32", "batch_invariant": False}
    gpu_sdpa = {
        "accumulator": "f32",
        "softmax": "online",
        "key_tile": 32,
        "exp_ulp": 3,
        "exp_ulp_per_unit": 2,
        "div_ulp": 2.5,
        "inverse_sqrt_ulp": 1,
        "subnormals": "may-flush",
        "batch_invariant": False,
    }
    return ({p: dict(gpu_matmul) for p in PRECISIONS}, {p: dict(gpu_sdpa) for p in PRECISIONS})


# --------------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------------


def _import_torch(device):
    """torch (and torch_npu for npu), or raises ImportError with the reason."""
    import torch

    if device == "npu":
        import torch_npu  # noqa: F401 (registers the "npu" device with torch)
    return torch


def _set_precision_switches(torch):
    """Sets every switch that changes matmul/SDPA arithmetic to IEEE behaviour (see the module
    docstring); returns the list of what it set, for the device line."""
    done = []

    def attempt(label, action):
        try:
            action()
            done.append(label)
        except Exception as e:  # noqa: BLE001 (an old torch lacks some switches)
            print(f"crosscheck_backend.torch: could not set {label}: {e}", file=sys.stderr)

    def setattr_(obj, key, value):
        return lambda: setattr(obj, key, value)

    attempt("float32_matmul_precision=highest",
            lambda: torch.set_float32_matmul_precision("highest"))
    attempt("cuda.matmul.allow_tf32=False", setattr_(torch.backends.cuda.matmul, "allow_tf32", False))
    attempt("cudnn.allow_tf32=False", setattr_(torch.backends.cudnn, "allow_tf32", False))
    attempt("allow_fp16_reduced_precision_reduction=False",
            setattr_(torch.backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", False))
    attempt("allow_bf16_reduced_precision_reduction=False",
            setattr_(torch.backends.cuda.matmul, "allow_bf16_reduced_precision_reduction", False))
    attempt("allow_fp16_accumulation=False",
            setattr_(torch.backends.cuda.matmul, "allow_fp16_accumulation", False))
    attempt("allow_fp16_bf16_reduction_math_sdp(False)",
            lambda: torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(False))
    return done


def _device_ready(torch, device):
    """None if ``device`` can run here, else the reason it cannot."""
    if device == "cpu":
        return None
    if device == "cuda":
        ok = torch.cuda.is_available()
        return None if ok else "torch.cuda.is_available() is False (no CUDA device or driver)"
    if device == "mps":
        ok = torch.backends.mps.is_available()
        return None if ok else "torch.backends.mps.is_available() is False"
    if device == "xpu":
        ok = hasattr(torch, "xpu") and torch.xpu.is_available()
        return None if ok else "torch.xpu.is_available() is False"
    if device == "npu":
        ok = hasattr(torch, "npu") and torch.npu.is_available()
        return None if ok else "torch.npu.is_available() is False (torch_npu found no Ascend NPU)"
    return f"unknown device {device!r}"


def _describe(torch, device):
    """(device line, driver line) for the declaration."""
    driver = f"torch {torch.__version__}"
    if device == "cpu":
        capability = torch.backends.cpu.get_cpu_capability()
        line = f"{cpu_name()}, {torch.get_num_threads()} threads, {capability}"
        extra = []
        if torch.backends.mkl.is_available():
            extra.append("MKL")
        if torch.backends.mkldnn.is_available():
            extra.append("oneDNN")
        if extra:
            driver += " (" + ", ".join(extra) + ")"
        return line, driver
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        line = f"{props.name} (sm_{props.major}{props.minor})"
        driver += f", CUDA {torch.version.cuda}"
        if torch.backends.cudnn.is_available():
            driver += f", cuDNN {torch.backends.cudnn.version()}"
        return line, driver
    if device == "npu":
        try:
            line = torch.npu.get_device_name(0)
        except Exception:  # noqa: BLE001
            line = "Ascend NPU"
        try:
            import torch_npu

            driver += f", torch_npu {torch_npu.__version__}"
        except Exception:  # noqa: BLE001
            pass
        return line, driver
    if device == "xpu":
        try:
            return torch.xpu.get_device_name(0), driver
        except Exception:  # noqa: BLE001
            return "Intel XPU", driver
    return f"{platform.machine()} {device}", driver


# --------------------------------------------------------------------------------------------
# Moving tensors without rounding
# --------------------------------------------------------------------------------------------


def _to_torch(torch, array, device):
    """A torch tensor on ``device`` holding exactly the bits of numpy ``array`` (any strides:
    a column-major operand stays a transposed view, as a user's transposed tensor would)."""
    array = np.asarray(array)
    with warnings.catch_warnings():
        # Inputs are read-only views of the request buffer; torch only reads them.
        warnings.simplefilter("ignore", UserWarning)
        if array.dtype == ml_dtypes.bfloat16:
            tensor = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        else:
            tensor = torch.from_numpy(array)
    return tensor.to(device)


def _to_numpy(torch, tensor):
    """The exact bits of ``tensor`` as a numpy array (float32, float16 or ml_dtypes
    bfloat16): no conversion, so no rounding, happens here."""
    tensor = tensor.detach().to("cpu")
    if tensor.dtype == torch.bfloat16:
        return tensor.contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------


def _probe(torch, device, dtype):
    """None if a tiny matmul and SDPA run in ``dtype`` on ``device``, else the error."""
    try:
        a = torch.ones(1, 2, 8, 4, dtype=dtype, device=device)
        torch.matmul(a[0, 0], a[0, 0].transpose(0, 1))
        torch.nn.functional.scaled_dot_product_attention(a, a, a)
        return None
    except Exception as e:  # noqa: BLE001 (any failure means the variant cannot run)
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()


def declare_kernels(device):
    """Imports torch, sets the precision switches, declares both kernels for ``device`` and
    returns (torch or None, device line, driver line)."""
    try:
        torch = _import_torch(device)
    except ImportError as e:
        reason = f"cannot import {'torch_npu' if device == 'npu' else 'torch'}: {e}"
        _declare(None, device, {p: reason for p in PRECISIONS})
        return None, f"{device} (unavailable)", reason
    switches = _set_precision_switches(torch)
    print(f"crosscheck_backend.torch: set {', '.join(switches)}", file=sys.stderr)
    missing = _device_ready(torch, device)
    if missing:
        _declare(torch, device, {p: missing for p in PRECISIONS})
        return torch, f"{device} (unavailable)", f"torch {torch.__version__}: {missing}"
    dtypes = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    unavailable = {}
    for label, dtype in dtypes.items():
        problem = _probe(torch, device, dtype)
        if problem:
            unavailable[label] = f"torch {device} cannot run {label} here: {problem}"
    _declare(torch, device, unavailable)
    line, driver = _describe(torch, device)
    return torch, line, driver


def _declare(torch, device, unavailable):
    matmul_contract, sdpa_contract = _contracts(device)
    available = [p for p in PRECISIONS if p not in unavailable]
    matmul_contract = {p: c for p, c in matmul_contract.items() if p in available}
    sdpa_contract = {p: c for p, c in sdpa_contract.items() if p in available}
    dtypes = (
        {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16} if torch else {}
    )

    @kernel(
        op="matmul",
        name="torch",
        precisions=PRECISIONS,
        summary=f"torch.matmul on {device} (TF32 and reduced-precision reductions off)",
        contract=matmul_contract or None,
        unavailable=unavailable or None,
    )
    def matmul(problem, a, b):
        ta = _to_torch(torch, a, device)
        # A broadcast B is one weight shared by every batch entry: pass it as the 2-D [k, n]
        # matrix a user's nn.Linear passes (torch then folds batch into m).
        tb = _to_torch(torch, b[0] if problem.b_broadcast else b, device)
        if ta.dtype != dtypes[problem.variant]:
            raise RuntimeError(f"input dtype {ta.dtype} is not the variant's")
        with torch.inference_mode():
            c = torch.matmul(ta, tb)
        return _to_numpy(torch, c)

    @kernel(
        op="attention",
        name="sdpa",
        precisions=PRECISIONS,
        summary=(
            f"torch.nn.functional.scaled_dot_product_attention on {device}: explicit scale, "
            f"enable_gqa, end-aligned boolean mask (is_causal only where len_q == len_kv); "
            f"output unmodified"
        ),
        contract=sdpa_contract or None,
        unavailable=unavailable or None,
    )
    def sdpa(problem, q, k, v):
        tq, tk, tv = (_to_torch(torch, x, device) for x in (q, k, v))
        kwargs = {"scale": float(problem.scale)}
        if problem.heads_q != problem.heads_kv:
            kwargs["enable_gqa"] = True
        if problem.causal and not problem.window and problem.len_q == problem.len_kv:
            # torch's is_causal aligns the mask to the top left; with len_q == len_kv that is
            # crosscheck's end alignment, and the library's own causal path is what is judged.
            kwargs["is_causal"] = True
        elif problem.causal or problem.window:
            kwargs["attn_mask"] = torch.from_numpy(problem.mask()).to(device)
        with torch.inference_mode():
            try:
                o = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kwargs)
            except TypeError as e:
                if "enable_gqa" in str(e):
                    raise Unsupported(f"torch {torch.__version__} has no enable_gqa (needs 2.5)")
                raise
        return _to_numpy(torch, o)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m crosscheck_backend.torch",
        description="Serve torch.matmul and scaled_dot_product_attention to crosscheck.",
    )
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--name", default=None, help="backend name (default: torch-DEVICE)")
    args = parser.parse_args(argv)
    _, line, driver = declare_kernels(args.device)
    serve(name=args.name or f"torch-{args.device}", api="torch", device=line, driver=driver)


if __name__ == "__main__":
    main()
