"""Redundant execution: compare two replicas (detect) or vote three (correct).

Replica outputs (a tuple of numpy arrays) are serialised to one ``uint64`` word array (the
arrays' raw bytes in order, zero-padded to a multiple of 8 octets). Two replicas are
compared word by word; three are voted bitwise with the native TMR kernel
(:func:`native.tmr_vote`), which also counts the words where the replicas were not all
equal. The voted words are unpacked into arrays of the first replica's shapes and dtypes
(shapes and dtypes are not data an upset can change on the accelerator: they come from the
request).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from native import tmr_vote
from native.errors import FlightError

__all__ = ["compare", "pack_words", "unpack_words", "vote"]

Words = NDArray[np.uint64]


def pack_words(outputs: Sequence[NDArray[Any]]) -> Words:
    """The arrays' raw bytes, concatenated and zero-padded, as ``uint64`` words."""
    raw = b"".join(np.ascontiguousarray(a).tobytes() for a in outputs)
    raw += b"\0" * (-len(raw) % 8)
    return np.frombuffer(raw, dtype=np.uint64).copy()


def unpack_words(words: Words, like: Sequence[NDArray[Any]]) -> tuple[NDArray[Any], ...]:
    """Arrays shaped and typed as ``like`` from the words of :func:`pack_words`."""
    raw = words.tobytes()
    out = []
    offset = 0
    for a in like:
        n = a.nbytes
        out.append(np.frombuffer(raw[offset : offset + n], dtype=a.dtype).reshape(a.shape).copy())
        offset += n
    return tuple(out)


def _check(replicas: Sequence[Sequence[NDArray[Any]]]) -> None:
    first = replicas[0]
    for r in replicas[1:]:
        if len(r) != len(first) or any(
            a.shape != b.shape or a.dtype != b.dtype for a, b in zip(r, first, strict=True)
        ):
            raise FlightError("replica outputs differ in shape or dtype")


def compare(a: Sequence[NDArray[Any]], b: Sequence[NDArray[Any]]) -> int:
    """Number of 64-bit words in which two replicas differ (0: they agree)."""
    _check([a, b])
    return int(np.count_nonzero(pack_words(a) != pack_words(b)))


def vote(
    replicas: Sequence[Sequence[NDArray[Any]]],
) -> tuple[tuple[NDArray[Any], ...], int]:
    """(voted outputs, words where the three replicas were not all equal)."""
    if len(replicas) != 3:
        raise FlightError(f"a TMR vote needs three replicas, got {len(replicas)}")
    _check(replicas)
    a, b, c = (pack_words(r) for r in replicas)
    voted, mismatches = tmr_vote(a, b, c)
    return unpack_words(voted, replicas[0]), mismatches
