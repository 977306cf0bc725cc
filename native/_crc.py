"""CRC-16-CCITT-FALSE (packet error control) and CRC-32C (bulk data, files, images).

Public wrappers (re-exported by :mod:`native`): :func:`crc16_ccitt`, :func:`crc32c`.

Both take any C-contiguous bytes-like object (``bytes``, ``bytearray``, ``memoryview``,
a contiguous ``numpy`` array of any dtype, whose raw bytes are used) and a running value, so
that ``crc(b, crc(a)) == crc(a + b)`` for chunked data. Non-contiguous views are rejected
with :class:`~native.errors.KernelArgumentError` (a CRC is defined over a byte sequence, and
copying a strided view silently would hide a caller's mistake).

C variants (chosen at run time from CPUID, reported by :func:`native.backend.backend_report`):
CRC-16 folds 256-byte strides with VPCLMULQDQ on AVX-512 CPUs, or 128-byte strides with
PCLMULQDQ (constants derived in :mod:`native._crc_tables`), else slicing-by-16 tables; CRC-32C runs the SSE4.2 ``crc32``
instruction in three interleaved streams, else slicing-by-8 tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from native._crc_numba import crc16_numba, crc32c_numba
from native._crc_ref import crc16_ccitt_ref, crc32c_ref
from native.backend import c_library, register_kernel
from native.errors import BackendUnavailableError, KernelArgumentError

__all__ = ["CRC16_C_VARIANTS", "CRC32C_C_VARIANTS", "crc16_ccitt", "crc32c"]

#: CPU variants of the C kernels (ids of native/csrc/satnode.h).
CRC16_C_VARIANTS: dict[int, str] = {1: "slicing-by-16", 2: "pclmul", 3: "vpclmul-avx512"}
CRC32C_C_VARIANTS: dict[int, str] = {1: "slicing-by-8", 2: "sse4.2-3way"}


def _pointer(buf: Any) -> tuple[Any, int]:
    if type(buf) is bytes:  # cffi passes bytes to `const void *` without a copy
        return buf, len(buf)
    p = c_library()[0].from_buffer(buf)
    return p, len(p)


def crc16_c(buf: Any, init: int, impl: int = 0) -> int:
    """C implementation (``impl`` 0 = best CPU variant)."""
    lib = c_library()[1]
    p, n = _pointer(buf)
    crc: int = lib.satnode_crc16(p, n, init, impl)
    if crc < 0:
        raise BackendUnavailableError(f"CRC-16 C variant {impl} is not supported on this CPU")
    return crc


def crc32c_c(buf: Any, init: int, impl: int = 0) -> int:
    """C implementation (``impl`` 0 = best CPU variant)."""
    lib = c_library()[1]
    p, n = _pointer(buf)
    crc: int = lib.satnode_crc32c(p, n, init, impl)
    if crc < 0:
        raise BackendUnavailableError(f"CRC-32C C variant {impl} is not supported on this CPU")
    return crc


def crc16_c_variant(impl: int = 0) -> str:
    """Name of the CRC-16 C variant that ``impl`` (0 = best) runs on this CPU."""
    _, lib = c_library()
    v = int(lib.satnode_crc16_impl(impl))
    if v < 0:
        raise BackendUnavailableError(f"CRC-16 C variant {impl} is not supported on this CPU")
    return CRC16_C_VARIANTS[v]


def crc32c_c_variant(impl: int = 0) -> str:
    """Name of the CRC-32C C variant that ``impl`` (0 = best) runs on this CPU."""
    _, lib = c_library()
    v = int(lib.satnode_crc32c_impl(impl))
    if v < 0:
        raise BackendUnavailableError(f"CRC-32C C variant {impl} is not supported on this CPU")
    return CRC32C_C_VARIANTS[v]


def crc16_python(buf: Any, init: int) -> int:
    """Bit-serial reference in the kernel calling convention."""
    return crc16_ccitt_ref(np.frombuffer(buf, dtype=np.uint8).tolist(), init)


def crc32c_python(buf: Any, init: int) -> int:
    """Bit-serial reference in the kernel calling convention."""
    return crc32c_ref(np.frombuffer(buf, dtype=np.uint8).tolist(), init)


_crc16 = register_kernel(
    "crc16_ccitt",
    {"c": crc16_c, "numba": crc16_numba, "python": crc16_python},
    variants={"c": crc16_c_variant},
)
_crc32c = register_kernel(
    "crc32c",
    {"c": crc32c_c, "numba": crc32c_numba, "python": crc32c_python},
    variants={"c": crc32c_c_variant},
)


def _buffer(data: object) -> Any:
    if type(data) is bytes:  # the common case, kept cheap
        return data
    if isinstance(data, bytes | bytearray):
        return data
    if isinstance(data, np.ndarray):
        if not data.flags.c_contiguous:
            raise KernelArgumentError("data must be contiguous (got a strided array view)")
        return data
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise KernelArgumentError(
            f"data must be a bytes-like object, got {type(data).__name__}"
        ) from None
    if not view.c_contiguous:
        raise KernelArgumentError("data must be contiguous (got a strided memoryview)")
    return view


def _check_init(init: object, bits: int) -> int:
    if type(init) is int and 0 <= init < (1 << bits):  # the common case, kept cheap
        return init
    if not isinstance(init, int | np.integer) or isinstance(init, bool):
        raise KernelArgumentError(f"init must be an int, got {type(init).__name__}")
    value = int(init)
    if not 0 <= value < (1 << bits):
        raise KernelArgumentError(f"init must be in [0, 2^{bits}), got {value}")
    return value


def crc16_ccitt(data: Any, init: int = 0xFFFF) -> int:
    """CRC-16-CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF, no reflection, no xorout).

    Check value: ``crc16_ccitt(b"123456789") == 0x29B1``. For chunked data pass the previous
    result as ``init``: ``crc16_ccitt(b, crc16_ccitt(a)) == crc16_ccitt(a + b)``.
    """
    return _crc16(_buffer(data), _check_init(init, 16))  # type: ignore[no-any-return]


def crc32c(data: Any, init: int = 0) -> int:
    """CRC-32C (Castagnoli; reflected poly 0x82F63B78, preset and xorout 0xFFFFFFFF).

    Check value: ``crc32c(b"123456789") == 0xE3069283``. ``init`` is the previous CRC for
    chunked data (0 to start), like ``zlib.crc32``:
    ``crc32c(b, crc32c(a)) == crc32c(a + b)``.
    """
    return _crc32c(_buffer(data), _check_init(init, 32))  # type: ignore[no-any-return]
