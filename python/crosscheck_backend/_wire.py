"""Frames and a minimal safetensors reader and writer.

A frame is an unsigned 64-bit little-endian byte count followed by that many bytes; the bytes
are a safetensors file: an 8-byte little-endian header length, a JSON header (``__metadata__``
with string values, and one entry per tensor with ``dtype``, ``shape`` and ``data_offsets``),
then the tensors' bytes. Nothing read is trusted: :func:`decode` checks every length and offset.
"""

import json
import struct

import ml_dtypes
import numpy as np

#: safetensors dtype names and the numpy dtypes that hold them (little-endian).
DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

_LENGTH = struct.Struct("<Q")


class WireError(ValueError):
    """Bytes that are not a valid frame or safetensors file."""


def dtype_name(dtype):
    """The safetensors name of a numpy dtype (``F32``, ``BF16``, ...), or ``None`` if it has none."""
    dtype = np.dtype(dtype)
    if dtype.byteorder == ">":
        dtype = dtype.newbyteorder("<")  # written little-endian by encode
    for name, candidate in DTYPES.items():
        if dtype == candidate:
            return name
    return None


def read_frame(stream):
    """Reads one frame from a binary stream.

    Returns the payload bytes, or ``None`` when the stream ends cleanly before a frame begins.
    Raises :class:`WireError` when it ends inside a frame.
    """
    head = _read_exactly(stream, _LENGTH.size)
    if not head:
        return None
    if len(head) < _LENGTH.size:
        raise WireError(f"the stream ended inside a frame's length ({len(head)} of 8 bytes)")
    (length,) = _LENGTH.unpack(head)
    payload = _read_exactly(stream, length)
    if len(payload) < length:
        raise WireError(f"the stream ended inside a frame ({len(payload)} of {length} bytes)")
    return payload


def write_frame(stream, payload):
    """Writes one frame (length, then ``payload``) to a binary stream and flushes it."""
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exactly(stream, count):
    chunks = []
    got = 0
    while got < count:
        chunk = stream.read(count - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def encode(metadata, tensors=()):
    """A safetensors file holding ``metadata`` and ``tensors``.

    ``metadata`` maps strings to strings. ``tensors`` is a sequence of ``(name, array)`` pairs;
    each array is written row-major (C order), little-endian, in the order given, with its
    shape. The header is padded with spaces to a multiple of 8 bytes.
    """
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata must map strings to strings; {key!r}: {value!r} does not")
    header = {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, array in tensors:
        if name == "__metadata__" or name in header:
            raise ValueError(f"tensor name {name!r} is used twice or reserved")
        array = np.asarray(array)
        wire = dtype_name(array.dtype)
        if wire is None:
            raise ValueError(f"tensor {name!r} has dtype {array.dtype}, which safetensors cannot hold")
        data = np.ascontiguousarray(array, dtype=DTYPES[wire]).tobytes()
        header[name] = {
            "dtype": wire,
            "shape": [int(d) for d in array.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return _LENGTH.pack(len(text)) + text + b"".join(blobs)


def decode(buffer):
    """Reads a safetensors file.

    Returns ``(metadata, tensors)``: the ``__metadata__`` strings as a dict, and a dict from
    tensor name to a read-only numpy array of its dtype and shape that shares ``buffer``'s
    memory. Raises :class:`WireError` naming what is wrong when the header length, the JSON,
    a dtype, a shape or an offset does not hold up, or when the tensors do not exactly cover
    the data.
    """
    view = memoryview(buffer).cast("B")
    if len(view) < _LENGTH.size:
        raise WireError(f"a safetensors file needs at least 8 bytes, not {len(view)}")
    (header_len,) = _LENGTH.unpack(view[: _LENGTH.size])
    if header_len > len(view) - _LENGTH.size:
        raise WireError(
            f"the header length {header_len} runs past the end of the {len(view)}-byte file"
        )
    try:
        header = json.loads(bytes(view[_LENGTH.size : _LENGTH.size + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"the header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise WireError("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise WireError("__metadata__ must be an object of strings")
    data_start = _LENGTH.size + header_len
    data_len = len(view) - data_start
    tensors = {}
    spans = []
    for name, entry in header.items():
        dtype, shape, begin, end = _check_entry(name, entry, data_len)
        count = (end - begin) // dtype.itemsize
        if count:
            array = np.frombuffer(view, dtype=dtype, count=count, offset=data_start + begin)
        else:
            array = np.empty(0, dtype)
        array = array.reshape(shape)
        array.flags.writeable = False
        tensors[name] = array
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            what = "overlaps the tensor before it" if begin < position else "leaves a gap before it"
            raise WireError(f"tensor {name!r} starts at byte {begin}, which {what}")
        position = end
    if position != data_len:
        raise WireError(f"the tensors cover {position} bytes of data, but the file holds {data_len}")
    return metadata, tensors


def _check_entry(name, entry, data_len):
    if not isinstance(entry, dict):
        raise WireError(f"tensor {name!r}: the header entry is not an object")
    wire = entry.get("dtype")
    if wire not in DTYPES:
        raise WireError(f"tensor {name!r}: unknown dtype {wire!r}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise WireError(f"tensor {name!r}: shape {shape!r} is not a list of sizes")
    offsets = entry.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise WireError(f"tensor {name!r}: data_offsets {offsets!r} is not a pair of integers")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise WireError(
            f"tensor {name!r}: data_offsets [{begin}, {end}] are outside the {data_len} bytes of data"
        )
    dtype = DTYPES[wire]
    count = 1
    for d in shape:
        count *= d
    if end - begin != count * dtype.itemsize:
        raise WireError(
            f"tensor {name!r}: {end - begin} bytes for shape {shape} of {wire}, "
            f"which needs {count * dtype.itemsize}"
        )
    return dtype, shape, begin, end
