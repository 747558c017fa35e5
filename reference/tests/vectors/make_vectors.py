"""Test vectors for crosscheck's reference codecs, made by implementations written elsewhere.

Element conversions and the E8M0 table come from ml_dtypes; GGML MXFP4 (quantize and
dequantize) and the K-quant dequantizers from gguf-py (ggml's own Python port). MX, NVFP4 and
DeepSeek UE8M0 blocks are assembled here from ml_dtypes conversions, with the scale rules written
out from their sources (OCP MX v1.0 §6.3, torchao's mx_tensor.py and nvfp4_tensor.py, DeepGEMM's
ceil_to_ue8m0); see README.md for versions and the exact command.

Every file is one case: b"XCV1", then u32 rows, u32 cols, and three length-prefixed sections
(u32 byte count, bytes): the f32 inputs, the encoded bytes, the decoded f32 values (either
section may be empty when the case checks one direction only). All little-endian.
"""

import struct
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
from gguf import quants
from gguf.constants import GGMLQuantizationType as T

OUT = Path(__file__).resolve().parent
RNG = np.random.default_rng(0x5EED)


def write(name, rows, cols, inputs, encoded, decoded):
    parts = [b"XCV1", struct.pack("<II", rows, cols)]
    for section in (inputs, encoded, decoded):
        raw = b"" if section is None else np.ascontiguousarray(section).tobytes()
        parts += [struct.pack("<I", len(raw)), raw]
    (OUT / f"{name}.bin").write_bytes(b"".join(parts))


def f32(a):
    return np.asarray(a, dtype=np.float32)


# ---------------------------------------------------------------- elements (ml_dtypes)
ELEMENTS = {
    "e5m2": (ml_dtypes.float8_e5m2, 8),
    "e4m3": (ml_dtypes.float8_e4m3fn, 8),
    "e3m2": (ml_dtypes.float6_e3m2fn, 6),
    "e2m3": (ml_dtypes.float6_e2m3fn, 6),
    "e2m1": (ml_dtypes.float4_e2m1fn, 4),
}


def grid(dtype, bits):
    codes = np.arange(1 << bits, dtype=np.uint8)
    return codes, codes.view(dtype).astype(np.float32)


def element_inputs(dtype, bits):
    """Every value, every midpoint (ties), a little either side, random values, overflow."""
    _, values = grid(dtype, bits)
    finite = np.unique(values[np.isfinite(values) & (values >= 0)])
    mids = (finite[:-1].astype(np.float64) + finite[1:]) / 2
    near = np.concatenate([np.nextafter(f32(mids), np.float32(0)), np.nextafter(f32(mids), np.float32(np.inf))])
    top = float(finite[-1])
    beyond = f32([top * 1.01, top * 1.2, top * 4, 3.0e38])
    rand = f32(RNG.uniform(-top * 1.1, top * 1.1, 512))
    tiny = f32(RNG.uniform(-1, 1, 64) * float(finite[1]) * 2)
    x = np.concatenate([finite, f32(mids), near, beyond, rand, tiny])
    return f32(np.concatenate([x, -x]))


for name, (dtype, bits) in ELEMENTS.items():
    codes, values = grid(dtype, bits)
    # Decode: every code (as a 1-row matrix of bytes; the codes are not packed here).
    write(f"element_{name}_decode", 1, len(codes), None, codes, values)
    x = element_inputs(dtype, bits)
    if name in ("e5m2",):
        x = np.concatenate([x, f32([np.inf, -np.inf, np.nan])])
    top = float(values[np.isfinite(values)].max())
    # Encode, nearest even, saturating (clip first: ml_dtypes' own overflow is ∞ for E5M2, NaN
    # for E4M3 and saturation for the rest).
    write(f"element_{name}_saturate", 1, len(x), x, np.clip(x, -top, top).astype(dtype).view(np.uint8), None)
    if name == "e5m2":
        write("element_e5m2_infinity", 1, len(x), x, x.astype(dtype).view(np.uint8), None)

# E8M0: every byte.
e8 = np.arange(256, dtype=np.uint8)
write("e8m0_decode", 1, 256, None, e8, e8.view(ml_dtypes.float8_e8m0fnu).astype(np.float32))

# ---------------------------------------------------------------- MX blocks
MX = {  # name: (element dtype, emax, mbits, max)
    "mxfp8-e4m3": ("e4m3", 8, 3, 448.0),
    "mxfp8-e5m2": ("e5m2", 15, 2, 57344.0),
    "mxfp6-e3m2": ("e3m2", 4, 2, 28.0),
    "mxfp6-e2m3": ("e2m3", 2, 3, 7.5),
    "mxfp4": ("e2m1", 2, 1, 6.0),
}


def exponent_field(a):
    return (f32(a).view(np.uint32) >> 23) & 0xFF


def scale_byte(amax, emax, mbits, top, rule):
    """One block's E8M0 byte (amax finite, non-negative)."""
    amax = np.float32(amax)
    if rule == "floor":  # OCP MX v1.0: floor(log2 amax) - emax, clamped to -127
        if amax == 0:
            return 0
        _, e = np.frexp(np.float64(amax))  # exact: amax = m * 2^e, m in [0.5, 1)
        return int(np.clip(e - 1 - emax, -127, 127)) + 127
    if rule == "even":  # torchao EVEN: round amax to mbits in its f32 bits, then floor
        bits = (int(f32([amax]).view(np.uint32)[0]) + (1 << (23 - mbits - 1))) & 0x7F800000
        rounded = np.uint32(bits).view(np.float32)
        if not np.isfinite(rounded):
            return 255
        return int(np.clip(int(exponent_field([rounded])[0]) - 127 - emax, -127, 128)) + 127
    if rule == "ceil":  # DeepGEMM ceil_to_ue8m0(amax / max)
        q = int(f32([amax / np.float32(top)]).view(np.uint32)[0])
        return int(np.clip(((q >> 23) & 0xFF) + ((q & 0x7FFFFF) != 0), 1, 254))
    if rule == "rceil":  # torchao _f32_to_e8m0_rceil(amax * (1 / max))
        q = int(f32([amax * np.float32(1.0 / top)]).view(np.uint32)[0])
        field, mant = (q >> 23) & 0xFF, q & 0x7FFFFF
        up = mant > 0x400000 if field == 0 else mant != 0
        return min(field + int(up), 255)
    raise ValueError(rule)


def mx_blocks(kind):
    """32-value blocks: random spreads, ties, saturating maxima, zero and subnormal blocks."""
    blocks = []
    for scale in (1e-3, 0.5, 1.0, 7.0, 3e4, 1e30):
        blocks.append(f32(RNG.normal(0, scale, 32)))
    _, values = grid(*ELEMENTS[kind])
    finite = np.unique(values[np.isfinite(values) & (values >= 0)])
    mids = f32((finite[:-1].astype(np.float64) + finite[1:]) / 2)
    ties = f32(RNG.choice(np.concatenate([mids, -mids]), 32))
    ties[0] = finite[-1]  # amax = max element: scale 1 under floor
    blocks.append(ties)
    blocks.append(ties * np.float32(2.0**-20))
    sat = f32(RNG.uniform(-1, 1, 32)) * finite[-1]
    sat[5] = finite[-1] * np.float32(1.9) / np.float32(1.75)  # past max under floor
    blocks.append(sat)
    blocks.append(np.zeros(32, dtype=np.float32))
    blocks.append(f32(RNG.uniform(-1, 1, 32)) * np.float32(1e-40))  # f32 subnormals
    near = f32(RNG.uniform(-1, 1, 32))
    near[3] = np.nextafter(np.float32(4.0), np.float32(0))  # amax just below a power of two
    blocks.append(near)
    blocks.append(f32(RNG.uniform(-1, 1, 32)) * np.float32(3e38))
    return f32(np.concatenate(blocks))


def mx_encode(x, kind, emax, mbits, top, rule):
    dtype, bits = ELEMENTS[kind]
    out = bytearray()
    for block in x.reshape(-1, 32):
        s = scale_byte(np.abs(block).max(), emax, mbits, top, rule)
        out.append(s)
        scaled = np.clip(block.astype(np.float64) * 2.0 ** (127 - s), -top, top)
        codes = scaled.astype(dtype).view(np.uint8) & ((1 << bits) - 1)
        acc, held = 0, 0
        for c in codes:  # little-endian bit stream; 8-bit codes are whole bytes
            acc |= int(c) << held
            held += bits
            while held >= 8:
                out.append(acc & 0xFF)
                acc >>= 8
                held -= 8
    return np.frombuffer(bytes(out), dtype=np.uint8)


for fmt, (kind, emax, mbits, top) in MX.items():
    x = mx_blocks(kind)
    for rule in ("floor", "ceil", "even", "rceil"):
        enc = mx_encode(x, kind, emax, mbits, top, rule)
        write(f"{fmt}_{rule}", 1, len(x), x, enc, None)

# ---------------------------------------------------------------- NVFP4 (torchao's two-level recipe)
def nvfp4_encode(x):
    amax = np.float32(np.abs(x).max())
    s = np.float32(amax / np.float32(448.0 * 6.0))
    out = bytearray(f32([s]).tobytes())
    inv = np.float32(np.float32(1.0) / s)
    for block in x.reshape(-1, 16):
        bs = np.float32(np.float32(np.abs(block).max() / np.float32(6.0)) / s)
        scale = f32([np.clip(bs, np.float32(2.0**-6), np.float32(448.0))]).astype(ml_dtypes.float8_e4m3fn)
        recip = np.float32(inv / scale.astype(np.float32)[0])
        codes = np.clip(f32(block * recip), -6, 6).astype(ml_dtypes.float4_e2m1fn).view(np.uint8) & 0xF
        out.append(int(scale.view(np.uint8)[0]))
        out += bytes((codes[0::2] | (codes[1::2] << 4)).astype(np.uint8))
    return np.frombuffer(bytes(out), dtype=np.uint8)


nv = f32(np.concatenate([RNG.normal(0, 1, 256), RNG.normal(0, 1e-3, 64), np.zeros(16), RNG.normal(0, 50, 64)]))
write("nvfp4", 5, 80, nv, nvfp4_encode(nv), None)

# ---------------------------------------------------------------- DeepSeek UE8M0 (DeepGEMM's casts)
def ceil_to_ue8m0(a):
    q = int(f32([a]).view(np.uint32)[0])
    return int(np.clip(((q >> 23) & 0xFF) + ((q & 0x7FFFFF) != 0), 1, 254))


def ds_encode(x, rows, cols, tile_rows):
    x = x.reshape(rows, cols)
    tr, tc = -(-rows // tile_rows), -(-cols // 128)
    scales = np.zeros((tr, tc), dtype=np.uint8)
    for i in range(tr):
        for j in range(tc):
            tile = x[i * tile_rows:(i + 1) * tile_rows, j * 128:(j + 1) * 128]
            amax = max(np.float32(np.abs(tile).max()), np.float32(1e-4))
            scales[i, j] = ceil_to_ue8m0(np.float32(amax / np.float32(448.0)))
    full = np.repeat(np.repeat(scales, tile_rows, 0)[:rows], 128, 1)[:, :cols]
    inv = np.float32(1.0) / (full.astype(np.uint32) << 23).view(np.float32)
    codes = f32(x * inv).astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
    return np.concatenate([scales.ravel(), codes.ravel()])


ds = f32(RNG.normal(0, 3, (3, 300)))
ds[1, 128:256] = 0  # a zero tile: the 1e-4 floor
ds[2, :5] = [448, -449, 1e-6, 3e4, 0.5]
write("fp8-e4m3-1x128-ue8m0", 3, 300, ds, ds_encode(ds, 3, 300, 1), None)
dsw = f32(RNG.normal(0, 0.02, (130, 200)))
write("fp8-e4m3-128x128-ue8m0", 130, 200, dsw, ds_encode(dsw, 130, 200, 128), None)

# ---------------------------------------------------------------- GGML MXFP4 (gguf-py)
gm = [f32(RNG.normal(0, s, 32)) for s in (1e-3, 1.0, 100.0, 1e20)]
for k in (3, 8, -5, 60):  # amax just below 2^k: log2f rounds up for |k| large enough
    b = f32(RNG.uniform(-1, 1, 32)) * np.float32(2.0**k) * np.float32(0.5)
    b[7] = np.nextafter(np.float32(2.0**k), np.float32(0))
    gm.append(b)
t = f32(RNG.choice([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 0.0], 32)) * np.float32(1.0)
t[0] = 4.0  # d = 0.5: ties of the E2M1 grid
gm += [t, -t, np.zeros(32, dtype=np.float32)]
gm = f32(np.concatenate(gm))
enc = quants.quantize(gm.reshape(1, -1), T.MXFP4).reshape(-1)
write("ggml-mxfp4", 1, len(gm), gm, enc, quants.dequantize(enc, T.MXFP4).reshape(-1))

# ---------------------------------------------------------------- K-quant dequantize (gguf-py)
def random_kblocks(nbytes, n, f16_at):
    raw = RNG.integers(0, 256, (n, nbytes), dtype=np.uint8)
    for at in f16_at:  # finite f16 super-block scales, sign either way
        raw[:, at:at + 2] = f32(RNG.uniform(-2, 2, n) * 10.0 ** RNG.integers(-6, 2, n)).astype(np.float16).view(np.uint8).reshape(n, 2)
    return raw.reshape(-1)


for name, qt, nbytes, f16_at in (("q4_k", T.Q4_K, 144, (0, 2)), ("q5_k", T.Q5_K, 176, (0, 2)), ("q6_k", T.Q6_K, 210, (208,))):
    raw = random_kblocks(nbytes, 24, f16_at)
    write(f"{name}_decode", 1, 24 * 256, None, raw, quants.dequantize(raw, qt).reshape(-1))

# ---------------------------------------------------------------- K-quant quantize inputs
# The expected bytes for these come from ggml's C reference quantizers (see README.md).
kq = [RNG.normal(0, 1, 256), RNG.normal(0.5, 0.1, 256), RNG.uniform(-1e-3, 1e-3, 256),
      RNG.standard_t(2, 256) * 10, np.zeros(256), RNG.normal(0, 1, 256) * 1e-42,
      np.round(RNG.normal(0, 4, 256)) / 2, RNG.uniform(0, 3, 256)]
spiky = RNG.normal(0, 1e-3, 256)
spiky[17] = 60.0
kq.append(spiky)
kq = f32(np.concatenate(kq))
kq.tofile(OUT / "kquant_inputs.f32")
# With a directory holding q4_k.bin, q5_k.bin and q6_k.bin, the bytes ggml's C reference
# quantizers (quantize_row_q4_K_ref and friends) wrote for kquant_inputs.f32, make the cases.
if len(sys.argv) > 1:
    for name in ("q4_k", "q5_k", "q6_k"):
        ref = np.fromfile(Path(sys.argv[1]) / f"{name}.bin", dtype=np.uint8)
        write(f"{name}_encode", 1, len(kq), kq, ref, None)
    # ggml's C MXFP4 reference on the same inputs, beside gguf-py's port.
    ref = np.fromfile(Path(sys.argv[1]) / "mxfp4.bin", dtype=np.uint8)
    write("ggml-mxfp4_c", 1, len(kq), kq, ref, None)
print("wrote", len(list(OUT.glob("*.bin"))), "vector files to", OUT, file=sys.stderr)
