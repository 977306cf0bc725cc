"""Pure-NumPy reference of the Hsiao (72,64) SECDED kernels, written for clarity (test oracle).

It works from the row masks and the column list of :mod:`native._secded_code` directly
(parity = popcount & 1; decoding by looking the syndrome up among the columns), not from
the byte tables the fast kernels use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from native._secded_code import CHECK_COLUMNS, DATA_COLUMNS, ROWS

__all__ = [
    "KIND_CHECK",
    "KIND_CLEAN",
    "KIND_DATA",
    "KIND_DOUBLE",
    "KIND_ODD",
    "classify_ref",
    "encode_ref",
    "scrub_ref",
    "syndromes_ref",
]

U64 = np.ndarray[Any, np.dtype[np.uint64]]
U8 = np.ndarray[Any, np.dtype[np.uint8]]

KIND_CLEAN, KIND_DATA, KIND_CHECK, KIND_DOUBLE, KIND_ODD = 0, 1, 2, 3, 4


def encode_ref(data: U64) -> U8:
    """Check byte of every word: bit r = parity(data & ROWS[r])."""
    checks = np.zeros(data.shape, dtype=np.uint8)
    for r, row in enumerate(ROWS):
        parity = np.bitwise_count(data & np.uint64(row)) & 1
        checks |= (parity.astype(np.uint8) << r).astype(np.uint8)
    return checks


def syndromes_ref(data: U64, checks: U8) -> U8:
    """Syndrome of every stored (data, check) pair; 0 means clean."""
    return encode_ref(data) ^ checks


def classify_ref(syndromes: U8) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``(kind, bit)`` per word: kind is one of the ``KIND_*`` constants; ``bit`` is the data
    bit (0..63) or check bit (0..7) to flip for single errors, -1 otherwise."""
    data_bit = {col: i for i, col in enumerate(DATA_COLUMNS)}
    check_bit = {col: r for r, col in enumerate(CHECK_COLUMNS)}
    kind = np.zeros(syndromes.shape, dtype=np.int8)
    bit = np.full(syndromes.shape, -1, dtype=np.int16)
    for s in np.unique(syndromes):
        where = syndromes == s
        s_int = int(s)
        if s_int == 0:
            kind[where] = KIND_CLEAN
        elif s_int in data_bit:
            kind[where], bit[where] = KIND_DATA, data_bit[s_int]
        elif s_int in check_bit:
            kind[where], bit[where] = KIND_CHECK, check_bit[s_int]
        elif bin(s_int).count("1") % 2 == 0:
            kind[where] = KIND_DOUBLE
        else:
            kind[where] = KIND_ODD
    return kind, bit


def scrub_ref(
    data: U64, checks: U8
) -> tuple[U64, U8, tuple[int, int, int, int], np.ndarray[Any, Any]]:
    """Corrected copies of ``data`` and ``checks``, the counts ``(single data-bit, single
    check-bit, double, odd uncorrectable)`` and the sorted indices of uncorrectable words
    (which are returned unchanged)."""
    kind, bit = classify_ref(syndromes_ref(data, checks))
    fixed_data = data.copy()
    fixed_checks = checks.copy()
    is_data = kind == KIND_DATA
    is_check = kind == KIND_CHECK
    fixed_data[is_data] ^= np.left_shift(np.uint64(1), bit[is_data].astype(np.uint64))
    fixed_checks[is_check] ^= np.left_shift(np.uint8(1), bit[is_check].astype(np.uint8))
    counts = (
        int(np.count_nonzero(is_data)),
        int(np.count_nonzero(is_check)),
        int(np.count_nonzero(kind == KIND_DOUBLE)),
        int(np.count_nonzero(kind == KIND_ODD)),
    )
    bad = np.flatnonzero(kind >= KIND_DOUBLE).astype(np.int64)
    return fixed_data, fixed_checks, counts, bad
