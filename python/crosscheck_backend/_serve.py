"""The protocol loop: answer the handshake, then run each case the harness sends until EOF."""

import json
import os
import platform
import re
import sys
import traceback

import ml_dtypes
import numpy as np

from . import _wire
from ._contract import INT32_INPUTS, OPS
from ._output import OutputError, prepare_output
from ._platform import cpu_name
from ._problem import Problem
from ._registry import as_kernel, registered

#: The protocol version this package speaks.
PROTOCOL = "1"

_BACKEND_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
_MESSAGE_LIMIT = 8000
_TRACEBACK_LINES = 12


class Unsupported(Exception):
    """Raise from a kernel to skip a case: the harness reports it as unsupported, with the
    message as the reason (e.g. ``raise Unsupported("d_qk > 256 is not implemented")``)."""


def serve(name, api="python", device=None, driver=None, kernels=None):
    """Serves the declared kernels as backend ``name`` over standard input and output.

    - ``name``: the backend's name: lower-case letters, digits, ``-`` and ``_``, starting with
      a letter or digit, at most 64 characters, and not a name crosscheck's own backends use
      (``cpu``, ``wgpu-...``).
    - ``api``, ``device``, ``driver``: the declaration's device description (``api`` is what
      ``--backend`` and ``CROSSCHECK_REQUIRE`` also match). ``device`` defaults to the
      processor and core count, ``driver`` to the numpy, ml_dtypes and Python versions.
    - ``kernels``: the functions (decorated with ``@kernel``) to serve; all declared ones when
      None.

    Standard input and output carry the protocol and nothing else: this function takes them
    over (at the file-descriptor level where there is one), points file descriptor 1 and
    ``sys.stdout`` at standard error so that ``print`` and native libraries cannot corrupt
    the stream, and points standard input at the null device. It answers ``hello`` (protocol
    ``1``; any other version gets ``failed``, and serving stops), then answers every ``run``
    until the harness closes the input, and returns.

    Raises ValueError, before touching the streams, for a bad name or kernel list.
    """
    declaration = declare(name, api=api, device=device, driver=driver, kernels=kernels)
    source, sink = _claim_stdio()
    Server(declaration, kernels).run(source, sink)


def declare(name, api="python", device=None, driver=None, kernels=None):
    """The handshake's declaration (a dict) for the arguments of :func:`serve`."""
    if not isinstance(name, str) or not _BACKEND_NAME.match(name):
        raise ValueError(
            f"backend name {name!r}: use lower-case letters, digits, '-' and '_', starting with "
            f"a letter or digit, at most 64 characters"
        )
    if name == "cpu" or name == "wgpu" or name.startswith("wgpu-"):
        raise ValueError(f"backend name {name!r} is one of crosscheck's own backends")
    if device is None:
        cpu = cpu_name()
        device = f"{cpu}, {os.cpu_count() or 1} cores"
    if driver is None:
        driver = (f"numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}, "
                  f"Python {platform.python_version()}")
    for label, value in (("api", api), ("device", device), ("driver", driver)):
        if not isinstance(value, str):
            raise ValueError(f"{label} must be a string, not {value!r}")
    entries = _kernels(kernels)
    return {
        "name": name,
        "device": {"api": api, "device": device, "driver": driver},
        "kernels": [entry.declaration() for entry in entries],
    }


def _kernels(kernels):
    entries = registered() if kernels is None else [as_kernel(k) for k in kernels]
    seen = set()
    for entry in entries:
        if (entry.op, entry.name) in seen:
            raise ValueError(f"{entry.op}/{entry.name} is listed twice")
        seen.add((entry.op, entry.name))
    if not entries:
        raise ValueError("no kernels to serve: declare some with @kernel")
    return entries


def _claim_stdio():
    """The protocol's input and output streams; stdout and stdin are redirected away."""
    sys.stdout.flush()
    try:
        in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        source, sink = sys.stdin.buffer, sys.stdout.buffer
        sys.stdout = sys.stderr
        return source, sink
    source = os.fdopen(os.dup(in_fd), "rb")
    sink = os.fdopen(os.dup(out_fd), "wb")
    os.dup2(sys.stderr.fileno(), out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, in_fd)
    os.close(null)
    sys.stdout = sys.stderr
    return source, sink


class Server:
    """Answers protocol messages for one declaration and its kernels."""

    def __init__(self, declaration, kernels=None):
        self.declaration = declaration
        self.kernels = {(k.op, k.name): k for k in _kernels(kernels)}
        self.greeted = False

    def run(self, source, sink):
        """Reads frames from ``source`` and writes the answers to ``sink`` until EOF (or until
        a handshake in another protocol version has been refused)."""
        while True:
            try:
                payload = _wire.read_frame(source)
            except _wire.WireError as e:
                _log(f"crosscheck_backend: {e}; stopping")
                return
            if payload is None:
                return
            reply, keep_going = self.answer(payload)
            try:
                _wire.write_frame(sink, reply)
            except BrokenPipeError:
                _log("crosscheck_backend: the harness closed the output; stopping")
                return
            if not keep_going:
                return

    def answer(self, payload):
        """The reply frame's bytes for one request, and whether to go on serving."""
        try:
            metadata, tensors = _wire.decode(payload)
        except _wire.WireError as e:
            return _failed(f"the harness sent a frame that is not safetensors: {e}"), True
        kind = metadata.get("type")
        if kind == "hello":
            return self._hello(metadata)
        if kind == "run":
            if not self.greeted:
                return _failed("a run arrived before the hello handshake"), True
            try:
                return self._run(metadata, tensors), True
            except Exception as e:  # noqa: BLE001 (a bug here must fail one case, not the process)
                _log(traceback.format_exc())
                return _failed(f"crosscheck_backend failed: {type(e).__name__}: {e}"), True
        return _failed(f"unknown message type {kind!r} (expected hello or run)"), True

    def _hello(self, metadata):
        version = metadata.get("protocol")
        if version != PROTOCOL:
            harness = metadata.get("harness", "the harness")
            return _failed(
                f"this backend speaks crosscheck process protocol {PROTOCOL}; {harness} asked "
                f"for {version!r}"
            ), False
        self.greeted = True
        reply = {"type": "hello", "protocol": PROTOCOL, "backend": json.dumps(self.declaration)}
        return _wire.encode(reply), True

    def _run(self, metadata, tensors):
        missing = [k for k in ("case", "op", "kernel", "variant", "problem", "inputs", "output")
                   if k not in metadata]
        if missing:
            return _failed(f"the run message has no {', '.join(missing)}")
        op, name, variant = metadata["op"], metadata["kernel"], metadata["variant"]
        entry = self.kernels.get((op, name))
        if entry is None:
            have = ", ".join(f"{o}/{n}" for o, n in self.kernels) or "none"
            return _failed(f"this backend has no kernel {op}/{name} (it has {have})")
        if variant not in entry.variants:
            return _failed(f"{op}/{name} has no variant {variant!r} (it declared "
                           f"{', '.join(entry.variants)})")
        if variant in entry.unavailable:
            return _reply("unsupported", reason=entry.unavailable[variant])
        try:
            output = json.loads(metadata["output"])
            dtype = _wire.DTYPES[output["dtype"]]
            problem = Problem(op, json.loads(metadata["problem"]), kernel=name, variant=variant,
                              case=metadata["case"], output_shape=output["shape"],
                              output_dtype=dtype)
            inputs = [_logical_input(spec, tensors, problem)
                      for spec in json.loads(metadata["inputs"])]
            # A MoE problem whose padding is untouched: the output as it is before the kernel.
            problem.out = tensors.get("out")
        except (ValueError, KeyError, TypeError) as e:
            return _failed(f"the run message for {metadata['case']} is malformed: "
                           f"{type(e).__name__}: {e}")
        if len(inputs) != len(OPS[op]):
            return _failed(f"{op} takes {len(OPS[op])} inputs, the run message has {len(inputs)}")
        try:
            result = entry.function(problem, *inputs)
        except Unsupported as e:
            return _reply("unsupported", reason=str(e) or f"{op}/{name} does not support it")
        except Exception as e:  # noqa: BLE001 (the kernel's failure is the case's verdict)
            return _failed(_describe(e, f"{op}/{name}"))
        try:
            out = prepare_output(result, problem, raw=entry.raw)
        except OutputError as e:
            return _failed(f"{op}/{name}: {e}")
        try:
            return _wire.encode({"type": "output"}, [("out", out)])
        except ValueError as e:
            return _failed(f"{op}/{name}: {e}")


def _logical_input(spec, tensors, problem):
    """The kernel's view of one input: the stored tensor in logical layout."""
    name, shape, layout = spec["name"], [int(d) for d in spec["shape"]], spec.get("layout", "row")
    if name not in tensors:
        raise ValueError(f"input {name} is listed but not sent")
    stored = tensors[name]
    if layout == "col":
        if len(shape) < 2:
            raise ValueError(f"input {name} is col-major but has shape {shape}")
        want = shape[:-2] + [shape[-1], shape[-2]]
    elif layout == "row":
        want = shape
    else:
        raise ValueError(f"input {name} has layout {layout!r} (row or col)")
    if list(stored.shape) != want:
        raise ValueError(f"input {name} is stored as {list(stored.shape)}; a {layout} "
                         f"{shape} needs {want}")
    if name in INT32_INPUTS:
        # Routing metadata: bytes of little-endian int32, handed over as int32.
        return np.ascontiguousarray(stored).view("<i4").reshape(problem.input_shapes()[name])
    view = np.swapaxes(stored, -1, -2) if layout == "col" else stored
    if problem.op == "matmul" and name == "B" and problem.b_broadcast:
        view = np.broadcast_to(view, (problem.batch, problem.k, problem.n))
    return view


def _describe(error, where):
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
    _log(text)
    tail = "\n".join(text.splitlines()[-_TRACEBACK_LINES:])
    return f"{where} raised {type(error).__name__}: {error}\n{tail}"


def _reply(kind, **fields):
    return _wire.encode({"type": kind, **fields})


def _failed(message):
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT // 2] + "\n...\n" + message[-_MESSAGE_LIMIT // 2 :]
    return _reply("failed", message=message)


def _log(text):
    print(text, file=sys.stderr, flush=True)
