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
* ``universe.12sc.orbit``: seconds of wall time to advance a Walker 12/3/1 universe (550 km,
  53 deg, no catalogue) through one orbit in 1 s steps (a 1 Hz plant, one kernel call per
  step for all 12 spacecraft); the note gives spacecraft-seconds per wall-second. The peer,
  measured in the same run, is 12 separate worlds advanced through the same orbit in 1 s steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ground.bench import format_table
from ground.bench.record import BenchRecord, median_seconds
from hal.sim.world import Universe, World, WorldConfig, walker_delta_elements
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.kernels import elements_to_state_kernel

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


def _universe_records(repeats: int, quick: bool) -> list[BenchRecord]:
    """12 spacecraft for one orbit: one universe against 12 separate worlds."""
    base = WorldConfig.default()
    cfg = dataclasses.replace(base, neighbours=dataclasses.replace(base.neighbours, satellites={}))
    alt = 550e3
    period_s = 2 * math.pi * math.sqrt((EARTH_RADIUS_M + alt) ** 3 / MU_EARTH_M3_S2)
    steps = round(period_s / (4 if quick else 1))
    el = walker_delta_elements(12, 3, 1, altitude_m=alt, inclination_rad=math.radians(53.0))

    def universe() -> None:
        u = Universe.walker(12, 3, 1, altitude_km=550.0, inclination_deg=53.0, config=cfg)
        adv = u.advance
        for _ in range(steps):
            adv(_NS)

    def separate() -> None:
        worlds = []
        for row in el:
            w = World(cfg, 1)
            st = np.empty((1, 6))
            elements_to_state_kernel(row.reshape(1, 6), st)
            w.set_state_eci(st[0, :3], st[0, 3:])
            worlds.append(w)
        advs = [w.advance for w in worlds]
        for _ in range(steps):
            for adv in advs:
                adv(_NS)

    universe()  # compile / load the kernel caches
    t_u = median_seconds(universe, repeats=repeats)
    t_s = median_seconds(separate, repeats=repeats)
    sc_s = 12 * steps
    return [
        BenchRecord(
            name="universe.12sc.orbit" if not quick else "universe.12sc.quarter_orbit",
            value=t_u,
            unit="s",
            peer="12 separate worlds, same run",
            peer_value=t_s,
            ratio=t_s / t_u,
            note=(
                f"{sc_s / t_u:,.0f} spacecraft-s per wall-s (separate: {sc_s / t_s:,.0f}); "
                f"{steps} steps of 1 s"
            ),
        )
    ]


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
    records += _universe_records(repeats, quick)
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
