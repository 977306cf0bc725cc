"""Numba CRC kernels: slicing-by-8 tables (from :mod:`native._crc_tables`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from native._crc_tables import CRC16_TABLES, CRC32C_TABLES
from native.jit import kernel

__all__ = ["crc16_numba", "crc32c_numba"]

_T16 = np.ascontiguousarray(CRC16_TABLES[:8].astype(np.int64))
_T32 = np.ascontiguousarray(CRC32C_TABLES.astype(np.int64))


@kernel
def _crc16(buf: Any, crc: Any, t: Any) -> Any:
    n = buf.shape[0]
    i = 0
    while i + 8 <= n:
        # The running CRC is folded into the first two bytes of the 8-byte block.
        crc = (
            t[7, np.int64(buf[i]) ^ (crc >> 8)]
            ^ t[6, np.int64(buf[i + 1]) ^ (crc & 0xFF)]
            ^ t[5, buf[i + 2]]
            ^ t[4, buf[i + 3]]
            ^ t[3, buf[i + 4]]
            ^ t[2, buf[i + 5]]
            ^ t[1, buf[i + 6]]
            ^ t[0, buf[i + 7]]
        )
        i += 8
    while i < n:
        crc = ((crc << 8) & 0xFFFF) ^ t[0, (crc >> 8) ^ np.int64(buf[i])]
        i += 1
    return crc


@kernel
def _crc32c(buf: Any, crc: Any, t: Any) -> Any:
    n = buf.shape[0]
    i = 0
    while i + 8 <= n:
        crc ^= (
            np.int64(buf[i])
            | (np.int64(buf[i + 1]) << 8)
            | (np.int64(buf[i + 2]) << 16)
            | (np.int64(buf[i + 3]) << 24)
        )
        crc = (
            t[7, crc & 0xFF]
            ^ t[6, (crc >> 8) & 0xFF]
            ^ t[5, (crc >> 16) & 0xFF]
            ^ t[4, (crc >> 24) & 0xFF]
            ^ t[3, buf[i + 4]]
            ^ t[2, buf[i + 5]]
            ^ t[1, buf[i + 6]]
            ^ t[0, buf[i + 7]]
        )
        i += 8
    while i < n:
        crc = (crc >> 8) ^ t[0, (crc ^ np.int64(buf[i])) & 0xFF]
        i += 1
    return crc


def crc16_numba(buf: Any, init: int) -> int:
    """CRC-16-CCITT-FALSE of a contiguous buffer, continuing from ``init``."""
    return int(_crc16(np.frombuffer(buf, dtype=np.uint8), init, _T16))


def crc32c_numba(buf: Any, init: int) -> int:
    """CRC-32C of a contiguous buffer, continuing from the previous CRC ``init``."""
    raw = _crc32c(np.frombuffer(buf, dtype=np.uint8), init ^ 0xFFFFFFFF, _T32)
    return int(raw) ^ 0xFFFFFFFF
