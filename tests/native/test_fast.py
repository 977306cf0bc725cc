"""native._satnode_fast, the C backend's CPython-API call path of the CRC-16 kernel: the same
results as the cffi function (same csrc/crc.c) and as binascii.crc_hqx (independent), and an
explicit error, never a fallback, when it is missing or stale."""

from __future__ import annotations

import binascii
import sys
import types

import numpy as np
import pytest

import native
from native import backend as be
from native._crc import CRC16_C_VARIANTS
from native.errors import BackendUnavailableError


def test_versions_and_variant() -> None:
    fast = be.c_fast()
    assert fast.ABI_VERSION == be.C_ABI_VERSION
    assert fast.API_VERSION == be.FAST_API_VERSION
    _, lib = be.c_library()
    assert lib.satnode_crc16_impl(0) == fast.CRC16_IMPL
    assert fast.CRC16_IMPL in CRC16_C_VARIANTS


def test_pec_has_the_cffi_calling_convention() -> None:
    fast = be.c_fast()
    _, lib = be.c_library()
    rng = np.random.default_rng(18)
    buf = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    # 0 = best, 1..3 = each variant (-1 where this CPU lacks it), 4 and -7: no such variant.
    for impl in (0, 1, 2, 3, 4, -7):
        for n in (0, 1, 15, 16, 17, 255, 256, 1023, 1024, 1025, 4999, 5000):
            init = int(rng.integers(0, 0x10000))
            want = lib.satnode_crc16(buf, n, init, impl)
            assert fast.pec(buf, n, init, impl) == want, (impl, n)
            if want >= 0:
                assert want == binascii.crc_hqx(buf[:n], init)
    assert fast.pec(bytearray(buf), 9, 0xFFFF, 0) == binascii.crc_hqx(buf[:9], 0xFFFF)


def test_pec_and_crc16_argument_errors() -> None:
    fast = be.c_fast()
    with pytest.raises(ValueError, match="outside"):
        fast.pec(b"abc", 4, 0xFFFF, 0)
    with pytest.raises(ValueError, match="outside"):
        fast.pec(b"abc", -1, 0xFFFF, 0)
    with pytest.raises(ValueError, match="init"):
        fast.pec(b"abc", 3, 0x10000, 0)
    with pytest.raises(TypeError, match="byte buffer"):
        fast.pec("abc", 3, 0xFFFF, 0)
    with pytest.raises(TypeError, match="exactly 4"):
        fast.pec(b"abc", 3)
    with pytest.raises(ValueError, match="init"):
        fast.crc16(b"abc", -1)
    with pytest.raises(TypeError, match="byte buffer"):
        fast.crc16(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError, match="1 or 2"):
        fast.crc16()


@pytest.mark.parametrize("size", [0, 1, 52, 1046, 4096, 70_000])
def test_crc16_matches_crc_hqx_over_every_buffer_kind(size: int) -> None:
    fast = be.c_fast()
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
    raw = data.tobytes()
    want = binascii.crc_hqx(raw, 0xFFFF)
    for buf in (raw, bytearray(raw), memoryview(raw), data):
        assert fast.crc16(buf) == want
    assert fast.crc16(raw, 0x1D0F) == binascii.crc_hqx(raw, 0x1D0F)


def test_missing_module_is_an_explicit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(be, "_fast_cache", None)
    monkeypatch.setitem(sys.modules, "native._satnode_fast", None)  # import fails
    monkeypatch.delattr(native, "_satnode_fast", raising=False)
    with pytest.raises(BackendUnavailableError, match=r"not built.*SATNODE_NATIVE=numba"):
        be.c_fast()
    with pytest.raises(BackendUnavailableError, match="not built"):  # remembered
        be.c_fast()


def test_stale_module_is_an_explicit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = types.ModuleType("native._satnode_fast")
    stale.ABI_VERSION = be.C_ABI_VERSION  # type: ignore[attr-defined]
    stale.API_VERSION = be.FAST_API_VERSION + 1  # type: ignore[attr-defined]
    monkeypatch.setattr(be, "_fast_cache", None)
    monkeypatch.setitem(sys.modules, "native._satnode_fast", stale)
    monkeypatch.setattr(native, "_satnode_fast", stale, raising=False)
    with pytest.raises(BackendUnavailableError, match="stale"):
        be.c_fast()
