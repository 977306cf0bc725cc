"""Numba implementations of the SECDED kernels: 8 byte-table lookups per word.

Same contract as the C kernels (native/csrc/satnode.h): ``counts`` (int64[4]) is
overwritten with (single data-bit, single check-bit, double, odd uncorrectable); the first
``len(idx)`` uncorrectable indices go to ``idx``; the return value is the number of
uncorrectable words. Uncorrectable words are never modified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from native._secded_code import BYTE_TABLES, DECODE
from native.jit import kernel

__all__ = ["check_numba", "encode_numba", "scrub_numba"]

_T = np.ascontiguousarray(BYTE_TABLES)
_DECODE = np.ascontiguousarray(DECODE)


@kernel
def _syndrome(w: Any, t: Any) -> Any:
    s = 0
    for j in range(8):
        s ^= t[j, (w >> np.uint64(8 * j)) & np.uint64(0xFF)]
    return np.uint8(s)


@kernel
def _encode(data: Any, checks: Any, t: Any) -> None:
    for i in range(data.shape[0]):
        checks[i] = _syndrome(data[i], t)


@kernel
def _scan(
    data: Any,
    checks: Any,
    counts: Any,
    idx: Any,
    fix: bool,
    t: Any,
    decode: Any,
) -> int:
    counts[:] = 0
    nbad = 0
    cap = idx.shape[0]
    for i in range(data.shape[0]):
        s = _syndrome(data[i], t) ^ checks[i]
        if s == 0:
            continue
        d = decode[s]
        if d <= 64:
            counts[0] += 1
            if fix:
                data[i] ^= np.uint64(1) << np.uint64(d - 1)
        elif d <= 72:
            counts[1] += 1
            if fix:
                checks[i] ^= np.uint8(1 << (d - 65))
        else:
            if d == 254:
                counts[2] += 1
            else:
                counts[3] += 1
            if nbad < cap:
                idx[nbad] = i
            nbad += 1
    return nbad


def encode_numba(data: np.ndarray[Any, Any], checks: np.ndarray[Any, Any]) -> None:
    """checks[i] = H_data . data[i]."""
    _encode(data, checks, _T)


def check_numba(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
) -> int:
    """Classify every word without modifying anything."""
    return int(_scan(data, checks, counts, idx, False, _T, _DECODE))


def scrub_numba(
    data: np.ndarray[Any, Any],
    checks: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any],
    idx: np.ndarray[Any, Any],
) -> int:
    """Classify every word and correct single-bit errors in place."""
    return int(_scan(data, checks, counts, idx, True, _T, _DECODE))
