"""CRC-16-CCITT-FALSE and CRC-32C: every backend and C variant against crcmod.

Oracles: crcmod's predefined 'crc-ccitt-false' and 'crc-32c' (its C extension is required,
so that it is a genuinely independent implementation and not its pure-Python fallback),
the catalogue check values and golden vectors (tests/data/crc_vectors.json), and the
bit-serial reference.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import crcmod
import crcmod.predefined
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from native import KernelArgumentError, crc16_ccitt, crc32c, use_backend
from native import _crc as crc_mod
from native._crc_ref import crc16_ccitt_ref, crc32c_ref
from native._crc_tables import CRC16_FOLD, HEADER_PATH, render_c_header
from native.backend import c_library
from native.errors import BackendUnavailableError
from tests.data import load

BACKENDS = ["c", "numba", "python"]
CHECK = b"123456789"
GOLDEN = load("crc_vectors.json")
CATALOGUE: dict[str, dict[str, Any]] = GOLDEN["catalogue"]
VECTORS: list[dict[str, Any]] = GOLDEN["vectors"]
PEER16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
PEER32 = crcmod.predefined.mkCrcFun("crc-32c")
# Sizes around the C kernels' thresholds: PCLMUL folding starts at 256 bytes, strides of
# 128/16 bytes; VPCLMUL at 1024 bytes, strides of 256/64; the SSE4.2 kernel uses 3 x 8192
# and 3 x 256 byte interleaved blocks.
BIG_SIZES = [
    *(255, 256, 257, 271, 383, 384, 767, 768, 769, 1000),
    *(1023, 1024, 1025, 1040, 1087, 1088, 1279, 1280, 1343, 1344, 1359),
    *(24575, 24576, 24577, 53000),
]
MAX_PY_BYTES = 300  # the bit-serial python backend is slow


def test_crcmod_is_the_c_extension() -> None:
    # crcmod silently drops to pure Python when its extension is missing; the oracle must be
    # the C one (the package attribute ``crcmod.crcmod`` is shadowed, hence sys.modules).
    assert sys.modules["crcmod.crcmod"]._usingExtension


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_values(backend: str) -> None:
    # CRC RevEng catalogue check values (tests/data/crc_vectors.json, SOURCES.md).
    check16 = int(CATALOGUE["CRC-16/IBM-3740"]["check"], 16)
    check32 = int(CATALOGUE["CRC-32/ISCSI"]["check"], 16)
    with use_backend(backend):
        assert crc16_ccitt(CHECK) == check16
        assert crc32c(CHECK) == check32
        assert crc16_ccitt(b"") == 0xFFFF and crc32c(b"") == 0
        # the same polynomial from init 0 is CRC-16/XMODEM
        assert crc16_ccitt(CHECK, 0) == int(CATALOGUE["CRC-16/XMODEM"]["check"], 16)
    assert crc16_ccitt_ref(CHECK) == check16 and crc32c_ref(CHECK) == check32


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["input"])
def test_golden_vectors(backend: str, vector: dict[str, Any]) -> None:
    """Vectors computed by crcmod's C extension (tests/data/crc_vectors.json); the 32-byte
    zero and 0xFF blocks are also RFC 3720 appendix B.4's CRC-32C examples."""
    data = bytes.fromhex(vector["hex"])
    with use_backend(backend):
        assert crc16_ccitt(data) == vector["crc16_ccitt_false"]
        assert crc32c(data) == vector["crc32c"]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=50, deadline=None)
@given(
    data=st.binary(max_size=MAX_PY_BYTES),
    init16=st.integers(0, 0xFFFF),
    init32=st.integers(0, 2**32 - 1),
)
def test_matches_crcmod(backend: str, data: bytes, init16: int, init32: int) -> None:
    with use_backend(backend):
        assert crc16_ccitt(data) == PEER16(data)
        assert crc32c(data) == PEER32(data)
        # crcmod's second argument is the running CRC, with the same meaning as our init.
        assert crc16_ccitt(data, init16) == PEER16(data, init16)
        assert crc32c(data, init32) == PEER32(data, init32)


@pytest.mark.parametrize("backend", ["c", "numba"])
def test_large_buffers_match_crcmod(backend: str) -> None:
    rng = np.random.default_rng(5)
    with use_backend(backend):
        for n in BIG_SIZES:
            buf = rng.integers(0, 256, n, dtype=np.uint8)
            assert crc16_ccitt(buf) == PEER16(buf.tobytes()), n
            assert crc32c(buf) == PEER32(buf.tobytes()), n


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=MAX_PY_BYTES), cuts=st.lists(st.integers(0, MAX_PY_BYTES)))
def test_chunked_running_crc(backend: str, data: bytes, cuts: list[int]) -> None:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    with use_backend(backend):
        c16, c32 = 0xFFFF, 0
        for lo, hi in itertools.pairwise(points):
            c16 = crc16_ccitt(data[lo:hi], c16)
            c32 = crc32c(data[lo:hi], c32)
        assert c16 == crc16_ccitt(data) == PEER16(data)
        assert c32 == crc32c(data) == PEER32(data)


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_types(backend: str) -> None:
    words = np.arange(40, dtype=np.uint64)
    raw = words.tobytes()
    with use_backend(backend):
        for value in (
            raw,
            bytearray(raw),
            memoryview(raw),
            words,
            words.data,
            words.reshape(5, 8),
        ):
            assert crc16_ccitt(value) == PEER16(raw)
            assert crc32c(value) == PEER32(raw)


def test_bad_arguments() -> None:
    words = np.arange(40, dtype=np.uint64)
    for fn in (crc16_ccitt, crc32c):
        with pytest.raises(KernelArgumentError, match="contiguous"):
            fn(words[::2])
        with pytest.raises(KernelArgumentError, match="contiguous"):
            fn(memoryview(b"abcdef")[::2])
        with pytest.raises(KernelArgumentError, match="bytes-like"):
            fn("123456789")
        with pytest.raises(KernelArgumentError, match="init"):
            fn(b"1", -1)
        with pytest.raises(KernelArgumentError, match="init"):
            fn(b"1", 1.5)  # type: ignore[arg-type]
    with pytest.raises(KernelArgumentError, match="init"):
        crc16_ccitt(b"1", 0x10000)
    with pytest.raises(KernelArgumentError, match="init"):
        crc32c(b"1", 2**32)


# ------------------------------------------------------------- tables and variants ---


def test_generated_header_is_current() -> None:
    assert HEADER_PATH.read_text() == render_c_header()


def test_fold_constants_against_crcmod() -> None:
    # CRC (init 0) of a message whose polynomial is x^(e-16) equals x^e mod P.
    zero_init = crcmod.mkCrcFun(0x11021, initCrc=0, rev=False, xorOut=0)
    for e, k in CRC16_FOLD.items():
        nbytes, bit = divmod(e - 16, 8)
        msg = bytes([1 << bit]) + bytes(nbytes)
        assert zero_init(msg) == k, e


def _variants(impl_fn: str, names: dict[int, str]) -> list[int]:
    _, lib = c_library()
    return [v for v in names if getattr(lib, impl_fn)(v) == v]


def test_c_variants_match_crcmod() -> None:
    v16 = _variants("satnode_crc16_impl", crc_mod.CRC16_C_VARIANTS)
    v32 = _variants("satnode_crc32c_impl", crc_mod.CRC32C_C_VARIANTS)
    assert 1 in v16 and 1 in v32
    rng = np.random.default_rng(9)
    buf = rng.integers(0, 256, 3 * 24576 + 999, dtype=np.uint8)
    for n in [0, 1, 2, 15, 16, 17, *BIG_SIZES, buf.size - 9]:
        for off in (0, 1, 3, 7):  # misaligned starts exercise the CRC-32C alignment loop
            part = buf[off : off + n]
            ref16, ref32 = PEER16(part.tobytes()), PEER32(part.tobytes())
            init16 = int(rng.integers(0, 0x10000))
            for v in v16:
                assert crc_mod.crc16_c(part, 0xFFFF, impl=v) == ref16, (n, off, v)
                assert crc_mod.crc16_c(part, init16, impl=v) == PEER16(part.tobytes(), init16)
            for v in v32:
                assert crc_mod.crc32c_c(part, 0, impl=v) == ref32, (n, off, v)
    with pytest.raises(BackendUnavailableError):
        crc_mod.crc16_c(b"x", 0xFFFF, impl=99)
    with pytest.raises(BackendUnavailableError):
        crc_mod.crc32c_c(b"x", 0, impl=99)
