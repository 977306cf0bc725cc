"""Benchmark the simulated world: wall time per simulated day at 1 s physics steps.

python bench/bench_world.py            # full run (medians of 5 days per chunk size)
python bench/bench_world.py --quick    # medians of 3 shorter runs
python bench/bench_world.py --json out/world.json

Records (medians, one thread, default world: own spacecraft + 4 neighbours, all subsystems):

* ``world.day.chunk_<n>s``: seconds of wall time to advance one simulated day, calling
  ``World.advance`` with chunks of n = 1, 60 and 86,400 s (so the 1 s figure includes the
  per-call Python overhead 86,400 times); the real-time factor is in the note. The peer is
  REFERENCE.md's Basilisk figure (point mass + J2 only, ~0.8 s per day at 1 s RK4 steps),
  quoted, not measured in this run (Basilisk is not installed here). Goal: <= 0.5 s.
* ``world.advance_overhead``: microseconds per ``advance`` call of 0.1 s (one partial step).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hal.sim.world import World, WorldConfig
from ground.bench import format_table
from ground.bench.record import BenchRecord, median_seconds

__all__ = ["main", "run"]

_DAY_S = 86_400
_NS = 1_000_000_000
_BASILISK_DAY_S = 0.8  # REFERENCE.md: ~9.5 us per step, one day in ~0.8 s


def _day_seconds(chunk_s: int, days: float, repeats: int) -> float:
    """Median wall time (s) per simulated day, advancing in ``chunk_s`` chunks."""
    cfg = WorldConfig.default()
    n_calls = round(days * _DAY_S / chunk_s)
    dt = chunk_s * _NS
    samples = []
    World(cfg, seed=1).advance(dt)  # compile / load the kernel cache
    for _ in range(repeats):
        w = World(cfg, seed=1)
        adv = w.advance
        t0 = time.perf_counter()  # benchmarks may read the clock directly
        for _ in range(n_calls):
            adv(dt)
        samples.append((time.perf_counter() - t0) / days)
    samples.sort()
    return samples[len(samples) // 2]


def run(quick: bool) -> list[BenchRecord]:
    """Run the world benchmarks (see the module docstring)."""
    repeats = 3 if quick else 5
    records = []
    for chunk in (1, 60, _DAY_S):
        days = (0.25 if chunk == 1 else 1.0) if quick else 1.0
        sec = _day_seconds(chunk, days, repeats)
        records.append(
            BenchRecord(
                name=f"world.day.chunk_{chunk}s",
                value=sec,
                unit="s/sim-day",
                peer="Basilisk point mass + J2 (REFERENCE.md, not measured)",
                peer_value=_BASILISK_DAY_S,
                ratio=_BASILISK_DAY_S / sec,
                note=f"real-time factor {_DAY_S / sec:,.0f}x; goal <= 0.5 s",
            )
        )
    w = World(WorldConfig.default(), seed=1)
    calls = 2000 if quick else 20000

    def many() -> None:
        for _ in range(calls):
            w.advance(100_000_000)

    per_call = median_seconds(many, repeats=repeats) / calls
    records.append(
        BenchRecord(
            name="world.advance_overhead",
            value=per_call * 1e6,
            unit="us/call",
            note="advance(0.1 s): one partial physics step per call",
        )
    )
    return records


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer repeats")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write records as JSON")
    args = parser.parse_args(argv)
    records = run(args.quick)
    sys.stdout.write(format_table(records) + "\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.as_dict() for r in records], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
