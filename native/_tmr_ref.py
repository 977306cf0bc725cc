"""Pure-NumPy reference of the TMR kernels, written for clarity (test oracle).

Uses the textbook majority ``(a & b) | (a & c) | (b & c)``, a different formula from the
kernels' ``(a & b) | (c & (a ^ b))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["repair_ref", "vote_ref"]

U64 = np.ndarray[Any, np.dtype[np.uint64]]


def vote_ref(a: U64, b: U64, c: U64) -> tuple[U64, int]:
    """Bitwise majority and the number of words where the replicas are not all equal."""
    voted = (a & b) | (a & c) | (b & c)
    mismatched = (a != b) | (a != c)
    return voted, int(np.count_nonzero(mismatched))


def repair_ref(a: U64, b: U64, c: U64) -> tuple[U64, int]:
    """What each replica must hold after a repair, and the number of mismatching words."""
    return vote_ref(a, b, c)
