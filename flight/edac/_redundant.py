"""Redundant execution of critical computations: duplex compare or triplex vote.

:meth:`RedundantExecutor.run` calls a computation two or three times and compares the
results as bytes (:func:`result_bytes`, or the caller's ``encode``):

* **copies=2** (duplication with comparison): identical results are AGREED. A mismatch is a
  detected disagreement; with ``tie_break`` (default) a third run is made and the three are
  voted, otherwise the result is DISAGREED and no value is returned.
* **copies=3** (triplex): the result bytes are voted bitwise with the native TMR kernel
  (:func:`native.tmr_vote`). A value is trusted only when at least two copies equal the
  vote byte for byte (a word-level majority); it is then returned as OUTVOTED (a minority
  copy differed). Otherwise the outcome is NO_MAJORITY and no value is returned.

Every disagreement is counted; the caller decides what a missing value means (retry later,
fall back, raise a FDIR event). :meth:`RedundantExecutor.run_checked` raises
:class:`RedundancyError` instead.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from native import tmr_vote
from native.errors import FlightError

__all__ = [
    "RedundancyError",
    "RedundancyOutcome",
    "RedundantExecutor",
    "RedundantResult",
    "result_bytes",
]

T = TypeVar("T")


class RedundancyError(FlightError):
    """Redundant runs of a computation disagreed and no trustworthy result exists."""


@enum.unique
class RedundancyOutcome(enum.Enum):
    """How the copies of a redundant computation compared."""

    AGREED = "agreed"  #: every copy identical
    OUTVOTED = "outvoted"  #: copies differed; a majority (>= 2 identical copies) won
    DISAGREED = "disagreed"  #: duplex mismatch, no tie-break: no value
    NO_MAJORITY = "no_majority"  #: three copies, no two identical: no value


@dataclass(frozen=True, slots=True)
class RedundantResult(Generic[T]):
    """Outcome of a redundant run: ``value`` is None unless AGREED or OUTVOTED."""

    value: T | None
    outcome: RedundancyOutcome
    runs: int  #: executions made (2, 3)
    mismatched_words: int  #: 64-bit words where the voted copies were not all equal

    @property
    def trusted(self) -> bool:
        """True when ``value`` is a majority result."""
        return self.outcome in (RedundancyOutcome.AGREED, RedundancyOutcome.OUTVOTED)


def result_bytes(value: Any) -> bytes:
    """Canonical bytes of a computation result (for comparison and voting).

    NumPy arrays (dtype, shape and content), bytes-likes, bool, int, float, str, None, and
    tuples/lists of these. Anything else: ``TypeError`` (pass ``encode=``).
    """
    if isinstance(value, np.ndarray):
        head = f"{value.dtype.str}{value.shape}".encode()
        return struct.pack("<I", len(head)) + head + np.ascontiguousarray(value).tobytes()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value)
    if value is None:
        return b"n"
    if isinstance(value, bool | np.bool_):
        return b"?" + struct.pack("<?", bool(value))
    if isinstance(value, int | np.integer):
        v = int(value)
        return b"i" + v.to_bytes((v.bit_length() + 8) // 8 or 1, "little", signed=True)
    if isinstance(value, float | np.floating):
        return b"d" + struct.pack("<d", float(value))
    if isinstance(value, str):
        return b"s" + value.encode()
    if isinstance(value, tuple | list):
        parts = [result_bytes(v) for v in value]
        return b"t" + b"".join(struct.pack("<I", len(p)) + p for p in parts)
    raise TypeError(f"cannot compare results of type {type(value).__name__}; pass encode=")


def _words(blob: bytes, n_words: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
    buf = np.zeros(n_words, dtype=np.uint64)
    buf.view(np.uint8)[: len(blob)] = np.frombuffer(blob, dtype=np.uint8)
    return buf


class RedundantExecutor:
    """Runs computations redundantly and counts what it saw (see the module docstring)."""

    def __init__(self, encode: Callable[[Any], bytes] = result_bytes) -> None:
        self._encode = encode
        self.calls = 0  #: run() calls
        self.executions = 0  #: computations executed
        self.disagreements = 0  #: calls where the copies were not all identical
        self.outvoted = 0  #: calls where a minority copy was outvoted
        self.unresolved = 0  #: calls that produced no trusted value

    def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        copies: int = 2,
        tie_break: bool = True,
        encode: Callable[[Any], bytes] | None = None,
        **kwargs: Any,
    ) -> RedundantResult[T]:
        """Run ``fn(*args, **kwargs)`` ``copies`` (2 or 3) times and compare the results."""
        if copies not in (2, 3):
            raise ValueError(f"copies must be 2 or 3, got {copies}")
        enc = encode if encode is not None else self._encode
        self.calls += 1
        results: list[T] = []
        blobs: list[bytes] = []
        for _ in range(copies):
            r = fn(*args, **kwargs)
            results.append(r)
            blobs.append(enc(r))
        self.executions += copies
        if all(b == blobs[0] for b in blobs[1:]):
            return RedundantResult(results[0], RedundancyOutcome.AGREED, copies, 0)
        self.disagreements += 1
        if copies == 2:
            if not tie_break:
                self.unresolved += 1
                return RedundantResult(None, RedundancyOutcome.DISAGREED, 2, 0)
            r = fn(*args, **kwargs)
            self.executions += 1
            results.append(r)
            blobs.append(enc(r))
        return self._vote(results, blobs)

    def _vote(self, results: list[T], blobs: list[bytes]) -> RedundantResult[T]:
        n_words = max(len(b) for b in blobs) // 8 + 1
        a, b, c = (_words(x, n_words) for x in blobs)
        voted, mismatched = tmr_vote(a, b, c)
        # Lengths are part of the comparison: a copy equals the vote only if it has the
        # voted content and its own length agrees with a majority.
        lengths = [len(x) for x in blobs]
        agreeing = [
            i
            for i in range(3)
            if np.array_equal((a, b, c)[i], voted) and lengths.count(lengths[i]) >= 2
        ]
        if len(agreeing) >= 2:
            self.outvoted += 1
            return RedundantResult(results[agreeing[0]], RedundancyOutcome.OUTVOTED, 3, mismatched)
        self.unresolved += 1
        return RedundantResult(None, RedundancyOutcome.NO_MAJORITY, 3, mismatched)

    def run_checked(self, fn: Callable[..., T], *args: Any, copies: int = 2, **kwargs: Any) -> T:
        """Like :meth:`run` but return the value, or raise :class:`RedundancyError`."""
        res = self.run(fn, *args, copies=copies, **kwargs)
        if not res.trusted:
            raise RedundancyError(
                f"redundant runs of {getattr(fn, '__name__', fn)!r} disagree ({res.outcome.value})"
            )
        return res.value  # type: ignore[return-value]

    def summary(self) -> dict[str, int]:
        """Counters (JSON-serialisable)."""
        return {
            "calls": self.calls,
            "executions": self.executions,
            "disagreements": self.disagreements,
            "outvoted": self.outvoted,
            "unresolved": self.unresolved,
        }
