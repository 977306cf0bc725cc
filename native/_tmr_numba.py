"""Numba implementations of the TMR kernels (same contract as native/csrc/tmr.c)."""

from __future__ import annotations

from typing import Any

import numpy as np

from native.jit import kernel

__all__ = ["repair_numba", "vote_numba"]


@kernel
def _vote(a: Any, b: Any, c: Any, out: Any) -> int:
    m = 0
    for i in range(a.shape[0]):
        x = a[i]
        y = b[i]
        z = c[i]
        out[i] = (x & y) | (z & (x ^ y))
        if ((x ^ y) | (x ^ z)) != 0:
            m += 1
    return m


@kernel
def _repair(a: Any, b: Any, c: Any) -> int:
    m = 0
    for i in range(a.shape[0]):
        x = a[i]
        y = b[i]
        z = c[i]
        if ((x ^ y) | (x ^ z)) == 0:
            continue
        v = (x & y) | (z & (x ^ y))
        # Only minority replicas are written: clean memory stays clean in the cache.
        if x != v:
            a[i] = v
        if y != v:
            b[i] = v
        if z != v:
            c[i] = v
        m += 1
    return m


def vote_numba(
    a: np.ndarray[Any, Any],
    b: np.ndarray[Any, Any],
    c: np.ndarray[Any, Any],
    out: np.ndarray[Any, Any],
) -> int:
    """out = majority(a, b, c); returns the number of mismatching words."""
    return int(_vote(a, b, c, out))


def repair_numba(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], c: np.ndarray[Any, Any]) -> int:
    """Rewrite minority replicas in place; returns the number of mismatching words."""
    return int(_repair(a, b, c))
