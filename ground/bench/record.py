"""Benchmark records and the timing helper shared by every benchmark suite.

A record is what ``satnode bench --json`` writes: ``{name, value, unit, peer, peer_value,
ratio}``. ``ratio`` is ours/peer for throughputs (higher is better) and peer/ours for times,
so a ratio above 1 always means satnode is faster.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BenchRecord:
    """One measured figure, with the peer measured in the same run (or None)."""

    name: str
    value: float
    unit: str
    peer: str | None = None
    peer_value: float | None = None
    ratio: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    Benchmarks (never flight code) may read the performance counter directly.
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def throughput_record(
    name: str,
    unit: str,
    amount: float,
    ours_s: float,
    peer: str | None = None,
    peer_s: float | None = None,
    note: str = "",
) -> BenchRecord:
    """Build a throughput record: ``amount`` units processed in ``ours_s`` (and ``peer_s``)."""
    value = amount / ours_s
    peer_value = amount / peer_s if peer_s else None
    ratio = value / peer_value if peer_value else None
    return BenchRecord(name, value, unit, peer, peer_value, ratio, note)
