"""Benchmark EDAC: protected reads and scrub slices against a plain copy, TMR reads against a
pure-Python majority, and the SEU campaign's injection rate.

Usage::

    python bench/bench_edac.py [--quick] [--json FILE]

Ratios are ours/peer for throughputs (above 1: satnode faster). For the protected read the
peer is an unprotected ``tobytes`` copy, so the ratio is the cost of protection (below 1).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from flight.edac import MemoryBlobStore, ProtectedRegion, TmrArray
from ground.bench import BenchRecord, bench_main, median_seconds, throughput_record
from ground.campaigns import run_seu_campaign
from native.backend import backend_report

__all__ = ["main", "run"]


def run(quick: bool = False) -> list[BenchRecord]:
    """Measure and return the records."""
    size = (1 if quick else 16) << 20
    repeats = 3 if quick else 7
    region = ProtectedRegion(
        "weights", 1, np.random.default_rng(1).normal(0.0, 0.02, size // 4).astype("<f4").tobytes(), store=MemoryBlobStore()
    )
    plain = region.data.copy()
    records = [
        throughput_record(
            "edac protected read_all",
            "B/s",
            size,
            median_seconds(region.read_all, repeats),
            "unprotected tobytes",
            median_seconds(plain.tobytes, repeats),
            note="scrub-on-read + copy; ratio = cost of protection",
        ),
        throughput_record(
            "edac scrub slice (whole region)",
            "B/s",
            size,
            median_seconds(region.scrub, repeats),
            "numpy copy",
            median_seconds(plain.copy, repeats),
        ),
    ]
    state = TmrArray("orbit_state", np.float64, 6, np.arange(6.0))
    a, b, c = (plain[:6].copy() for _ in range(3))

    def py_vote() -> list[int]:
        return [
            (int(x) & int(y)) | (int(x) & int(z)) | (int(y) & int(z))
            for x, y, z in zip(a, b, c, strict=True)
        ]

    n_calls = 2000

    def many(fn: object) -> None:
        for _ in range(n_calls):
            fn()  # type: ignore[operator]

    records.append(
        throughput_record(
            "tmr get (6 x f64)",
            "reads/s",
            n_calls,
            median_seconds(lambda: many(state.get), repeats),
            "pure-Python majority",
            median_seconds(lambda: many(py_vote), repeats),
        )
    )
    injections = 3000 if quick else 30000
    t0 = time.perf_counter()
    run_seu_campaign(injections, (1, 2, 3), seed=1)
    wall = time.perf_counter() - t0
    records.append(
        BenchRecord("seu campaign", 3 * injections / wall, "injections/s", note=f"{wall:.2f} s")
    )
    return records


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``--quick``, ``--json FILE``)."""

    def header() -> str:
        report = backend_report()
        return f"# secded_scrub: {report.get('secded_scrub')}; tmr_vote: {report.get('tmr_vote')}"

    return bench_main(run, __doc__.splitlines()[0], argv, header)


if __name__ == "__main__":
    sys.exit(main())
