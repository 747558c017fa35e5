"""@kernel and the handshake's declaration, checked in-process."""

import itertools
import unittest

from crosscheck_backend import Kernel, declare, kernel

_names = itertools.count()


def fresh():
    """A kernel name no other test has registered (the registry is module-level)."""
    return f"t{next(_names)}"


def make():
    """A new, undeclared kernel function."""

    def function(problem, *inputs):
        return None

    return function


class KernelTest(unittest.TestCase):
    def test_the_decorator_returns_the_function_with_its_declaration(self):
        name, body = fresh(), make()
        function = kernel(op="matmul", name=name)(body)
        self.assertIs(function, body)
        self.assertIsInstance(function.crosscheck_kernel, Kernel)
        self.assertEqual(function.crosscheck_kernel.declaration(), {
            "op": "matmul", "name": name, "summary": "",
            "variants": [{"variant": "f32", "contract": {}}],
        })

    def test_duplicates_fail_at_decoration(self):
        name = fresh()
        kernel(op="attention", name=name)(lambda p, q, k, v: None)
        with self.assertRaisesRegex(ValueError, f"attention/{name} is declared twice"):
            kernel(op="attention", name=name)
        kernel(op="matmul", name=name)(make())  # the same name in another op is fine

    def test_bad_declarations_fail_with_the_reason(self):
        cases = {
            "unknown op 'conv'": dict(op="conv"),
            "unknown precision 'f8'": dict(precisions=["f32", "f8"]),
            "only variant is f32": dict(op="dequantize", precisions=["bf16"]),
            "qmatmul's variants are f32 and bf16": dict(op="qmatmul", precisions=["f16"]),
            "twice": dict(precisions=["f16", "f16"]),
            "at least one": dict(precisions=[]),
            "unknown contract key 'acumulator'": dict(contract={"acumulator": "f32"}),
            "accumulator 'f8'": dict(accumulator="f8"),
            "output_rounding 'up'": dict(contract={"output_rounding": "up"}),
            "exp_ulp must be a finite number": dict(contract={"exp_ulp": -1}),
            "div_ulp must be a finite number": dict(contract={"div_ulp": True}),
            "deterministic must be True or False": dict(contract={"deterministic": 1}),
            "online softmax needs a key_tile": dict(contract={"softmax": "online"}),
            "key_tile is only meaningful": dict(contract={"key_tile": 32}),
            "key_tile must be an integer": dict(contract={"softmax": "online", "key_tile": 0}),
            "mixes variant labels": dict(contract={"f32": {}, "accumulator": "f32"}),
            r"contract for \['bf16'\]": dict(contract={"bf16": {}}),
            "unavailable names 'bf16'": dict(unavailable={"bf16": "no"}),
            "must not be empty": dict(unavailable=""),
            "use letters, digits": dict(name="has space"),
        }
        for why, arguments in cases.items():
            arguments = {"op": "matmul", "name": fresh(), **arguments}
            with self.subTest(why), self.assertRaisesRegex(ValueError, why):
                kernel(**arguments)(make())

    def test_contracts_per_variant_with_the_accumulator_shorthand(self):
        entry = kernel(
            op="attention", name=fresh(), precisions=["f32", "f16", "bf16"], accumulator="f32",
            summary="s", contract={"f16": {"softmax": "online", "key_tile": 16, "exp_ulp": 2.5},
                                   "f32": {"accumulator": "f64", "batch_invariant": False}},
            unavailable={"bf16": "no bf16 on this device"},
        )(lambda p, q, k, v: None).crosscheck_kernel
        self.assertEqual(entry.declaration()["variants"], [
            {"variant": "f32", "contract": {"accumulator": "f32", "batch_invariant": False}},
            {"variant": "f16", "contract": {"softmax": "online", "key_tile": 16, "exp_ulp": 2.5,
                                            "accumulator": "f32"}},
            {"variant": "bf16", "unavailable": "no bf16 on this device"},
        ])

    def test_one_contract_serves_every_variant_and_the_summary_defaults_to_the_docstring(self):
        def documented(problem, a, b):
            """First line.

            More."""

        contract = {"output_rounding": "faithful", "subnormals": "may-flush", "div_ulp": 2.5}
        entry = kernel(op="matmul", name=fresh(), precisions=["f16", "f16n"],
                       contract=contract, unavailable="no GPU")(documented).crosscheck_kernel
        self.assertEqual(entry.summary, "First line.")
        self.assertEqual(entry.contracts, {"f16": contract, "f16n": contract})
        self.assertEqual(entry.unavailable, {"f16": "no GPU", "f16n": "no GPU"})


class DeclareTest(unittest.TestCase):
    def setUp(self):
        self.kernels = [kernel(op="matmul", name=fresh())(make())]

    def test_the_declaration(self):
        declaration = declare("my-backend_2", api="numpy", device="d", driver="v",
                              kernels=self.kernels)
        self.assertEqual(declaration["name"], "my-backend_2")
        self.assertEqual(declaration["device"], {"api": "numpy", "device": "d", "driver": "v"})
        self.assertEqual([k["name"] for k in declaration["kernels"]],
                         [self.kernels[0].crosscheck_kernel.name])

    def test_device_and_driver_defaults(self):
        device = declare("x", kernels=self.kernels)["device"]
        self.assertEqual(device["api"], "python")
        self.assertRegex(device["device"], r", \d+ cores$")
        self.assertRegex(device["driver"], r"^numpy \S+, ml_dtypes \S+, Python \d+\.\d+")

    def test_backend_names_follow_the_protocol(self):
        for good in ("a", "0x", "numpy-ref", "a_b", "a" * 64):
            declare(good, kernels=self.kernels)
        for bad in ("", "Upper", "-lead", "_lead", "sp ace", "dot.ted", "a" * 65, "cpu",
                    "wgpu-vulkan", None):
            with self.subTest(bad), self.assertRaises(ValueError):
                declare(bad, kernels=self.kernels)

    def test_kernel_lists_are_checked(self):
        with self.assertRaisesRegex(ValueError, "listed twice"):
            declare("x", kernels=self.kernels * 2)
        with self.assertRaisesRegex(ValueError, "not declared with @kernel"):
            declare("x", kernels=[make()])
        with self.assertRaisesRegex(ValueError, "no kernels"):
            declare("x", kernels=[])


if __name__ == "__main__":
    unittest.main()
