"""A minimal harness for the tests: spawns a backend script and speaks the protocol to it with
the package's own framing and safetensors helpers, as crosscheck would."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from crosscheck_backend import _wire

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"
PACKAGE_DIR = ROOT / "python"


def stored(array, layout):
    """The bytes-order tensor of a logical array: a col matrix is its row-major transpose."""
    array = np.asarray(array)
    return np.ascontiguousarray(np.swapaxes(array, -1, -2) if layout == "col" else array)


def run_frame(op, kernel, variant, problem, inputs, output_shape, output_dtype, case="test:case",
              layouts=None):
    """A run request: ``inputs`` is a list of (name, logical array); ``layouts`` maps names to
    ``"col"`` for the inputs to send column-major."""
    layouts = layouts or {}
    specs, tensors = [], []
    for name, array in inputs:
        layout = layouts.get(name, "row")
        specs.append({"name": name, "shape": list(np.shape(array)), "layout": layout})
        tensors.append((name, stored(array, layout)))
    metadata = {
        "type": "run",
        "case": case,
        "op": op,
        "kernel": kernel,
        "variant": variant,
        "problem": json.dumps(problem),
        "inputs": json.dumps(specs),
        "output": json.dumps({"shape": list(output_shape), "dtype": output_dtype}),
    }
    return _wire.encode(metadata, tensors)


class Backend:
    """A running backend process."""

    def __init__(self, script, env=None):
        environment = dict(os.environ)
        environment["PYTHONPATH"] = str(PACKAGE_DIR)
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )

    def request(self, payload):
        """Sends one frame and returns the decoded answer: (metadata, tensors)."""
        _wire.write_frame(self.process.stdin, payload)
        answer = _wire.read_frame(self.process.stdout)
        if answer is None:
            raise AssertionError(f"the backend closed its output; stderr: {self.stderr_now()}")
        return _wire.decode(answer)

    def hello(self, protocol="1"):
        """The handshake; returns the answer's metadata."""
        metadata, tensors = self.request(
            _wire.encode({"type": "hello", "protocol": protocol, "harness": "tests 0"})
        )
        assert tensors == {}, tensors
        return metadata

    def close(self, timeout=10):
        """Closes the backend's input and waits; returns (exit status, stderr text)."""
        self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        err = self.process.stderr.read().decode("utf-8", "replace")
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode, err

    def stderr_now(self):
        """Whatever the process wrote to stderr, once it has exited."""
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read().decode("utf-8", "replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.close()
        else:
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                stream.close()
