"""Frames and the safetensors reader/writer."""

import io
import json
import struct
import unittest

import ml_dtypes
import numpy as np

from crosscheck_backend import _wire


def header_of(data):
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8 : 8 + n])


def build(header, body):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


class WriterTest(unittest.TestCase):
    def test_exact_bytes_of_a_small_file(self):
        data = _wire.encode({"type": "x"}, [("t", np.array([1, 2, 3], dtype=np.uint8))])
        header = b'{"__metadata__":{"type":"x"},"t":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}'
        padded = header + b" " * (-len(header) % 8)
        self.assertEqual(data, struct.pack("<Q", len(padded)) + padded + b"\x01\x02\x03")

    def test_header_is_padded_with_spaces_to_a_multiple_of_8(self):
        for name in ("a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"):
            data = _wire.encode({"type": name})
            n, _ = header_of(data)
            self.assertEqual(n % 8, 0, name)
            self.assertEqual(len(data), 8 + n)
            text = data[8:].decode()
            self.assertEqual(text.rstrip(" "), json.dumps({"__metadata__": {"type": name}},
                                                           separators=(",", ":")))

    def test_tensors_are_contiguous_in_the_order_written_little_endian_row_major(self):
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        b = np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16)
        data = _wire.encode({"type": "x"}, [("z", a.T), ("a", b)])
        n, header = header_of(data)
        self.assertEqual(header["z"], {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]})
        self.assertEqual(header["a"], {"dtype": "BF16", "shape": [2], "data_offsets": [24, 28]})
        body = data[8 + n :]
        self.assertEqual(body[:24], struct.pack("<6f", 0, 3, 1, 4, 2, 5))
        self.assertEqual(body[24:], struct.pack("<2H", 0x3FC0, 0xC000))

    def test_every_dtype_round_trips_bit_for_bit(self):
        arrays = {
            "f64": np.array([1e300, -0.0], dtype=np.float64),
            "f32": np.array([[np.nan, 1.0]], dtype=np.float32),
            "f16": np.array([65504, 2**-24], dtype=np.float16),
            "bf16": np.array([3.0, -np.inf], dtype=ml_dtypes.bfloat16),
            "u8": np.array([0, 255], dtype=np.uint8),
            "i32": np.array([-5], dtype=np.int32),
            "empty": np.zeros((0, 3), dtype=np.float32),
        }
        data = _wire.encode({"type": "x", "k": "v"}, list(arrays.items()))
        metadata, tensors = _wire.decode(data)
        self.assertEqual(metadata, {"type": "x", "k": "v"})
        self.assertEqual(list(tensors), list(arrays))
        for name, array in arrays.items():
            self.assertEqual(tensors[name].dtype, array.dtype, name)
            self.assertEqual(tensors[name].shape, array.shape, name)
            self.assertEqual(tensors[name].tobytes(), array.tobytes(), name)
            self.assertFalse(tensors[name].flags.writeable, name)

    def test_big_endian_arrays_are_written_little_endian(self):
        data = _wire.encode({}, [("t", np.array([1.0], dtype=">f4"))])
        self.assertEqual(data[-4:], struct.pack("<f", 1.0))
        self.assertEqual(header_of(data)[1]["t"]["dtype"], "F32")

    def test_refuses_what_it_cannot_write(self):
        with self.assertRaisesRegex(ValueError, "'c'.*complex128"):
            _wire.encode({}, [("c", np.zeros(2, dtype=np.complex128))])
        with self.assertRaisesRegex(TypeError, "strings"):
            _wire.encode({"n": 1})
        with self.assertRaisesRegex(ValueError, "twice"):
            _wire.encode({}, [("a", np.zeros(1)), ("a", np.zeros(1))])


class ReaderTest(unittest.TestCase):
    def good(self):
        return _wire.encode({"type": "x"}, [("t", np.arange(4, dtype=np.float32))])

    def test_truncated_files_are_refused(self):
        data = self.good()
        with self.assertRaisesRegex(_wire.WireError, "at least 8 bytes"):
            _wire.decode(data[:5])
        n, _ = header_of(data)
        with self.assertRaisesRegex(_wire.WireError, "runs past the end"):
            _wire.decode(data[: 8 + n - 1])
        with self.assertRaisesRegex(_wire.WireError, "outside the 15 bytes"):
            _wire.decode(data[:-1])

    def test_offsets_and_byte_counts_are_checked(self):
        cases = {
            "which needs 12": ({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, 16),
            "outside": ({"t": {"dtype": "F32", "shape": [4], "data_offsets": [4, 20]}}, 16),
            "unknown dtype": ({"t": {"dtype": "F8", "shape": [4], "data_offsets": [0, 4]}}, 4),
            "not a list of sizes": ({"t": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}, 0),
            "pair of integers": ({"t": {"dtype": "U8", "shape": [1], "data_offsets": [0]}}, 1),
            "cover 4 bytes": ({"t": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, 6),
            "gap": ({"t": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, 6),
            "overlaps": ({"t": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                          "u": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, 6),
            "strings": ({"__metadata__": {"type": 1}}, 0),
        }
        for why, (header, size) in cases.items():
            with self.subTest(why), self.assertRaisesRegex(_wire.WireError, why):
                _wire.decode(build(header, bytes(size)))

    def test_non_json_headers_are_refused(self):
        with self.assertRaisesRegex(_wire.WireError, "not JSON"):
            _wire.decode(struct.pack("<Q", 4) + b"{{{{")
        with self.assertRaisesRegex(_wire.WireError, "not a JSON object"):
            _wire.decode(struct.pack("<Q", 2) + b"[]")

    def test_tensors_share_the_buffer(self):
        data = bytearray(self.good())
        _, tensors = _wire.decode(data)
        data[-4:] = struct.pack("<f", 9.0)
        self.assertEqual(float(tensors["t"][3]), 9.0)


class FrameTest(unittest.TestCase):
    def test_frames_round_trip(self):
        stream = io.BytesIO()
        _wire.write_frame(stream, b"hello")
        _wire.write_frame(stream, b"")
        self.assertEqual(stream.getvalue()[:8], struct.pack("<Q", 5))
        stream.seek(0)
        self.assertEqual(_wire.read_frame(stream), b"hello")
        self.assertEqual(_wire.read_frame(stream), b"")
        self.assertIsNone(_wire.read_frame(stream))

    def test_a_frame_cut_short_is_an_error(self):
        with self.assertRaisesRegex(_wire.WireError, "3 of 8"):
            _wire.read_frame(io.BytesIO(b"\x05\x00\x00"))
        with self.assertRaisesRegex(_wire.WireError, "2 of 5"):
            _wire.read_frame(io.BytesIO(struct.pack("<Q", 5) + b"he"))


if __name__ == "__main__":
    unittest.main()
