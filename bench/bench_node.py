"""Full-node speed: one 95-minute orbit of the default node on the sim backend (goal <= 6 s,
i.e. >= 1000x real time on one core), with a profile of where the time goes.

    python bench/bench_node.py [--orbits N] [--profile] [--json FILE]

Runs the embedded default configuration (every installed application) in simulated time,
as ``satnode sim`` does, and reports the median wall time of ``--repeats`` runs. With
``--profile`` it also prints the functions that take the most time (cProfile, one run).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

from flight.config import load_config
from flight.node import Node, NodeOptions
from ground.bench.record import BenchRecord

ORBIT_S = 5739.0


def one_run(orbits: float, out: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    cfg = load_config(None)
    cfg["tmtc"]["ground_link"] = False
    node = Node(cfg, NodeOptions(out_dir=out))
    try:
        summary = node.run(orbits * ORBIT_S)
        return float(summary["wall"]["wall_seconds"]), summary
    finally:
        node.close()


def run(
    quick: bool = False, orbits: float | None = None, repeats: int | None = None
) -> list[BenchRecord]:
    """Median wall time and real-time factor of the full node."""
    orbits = orbits if orbits is not None else (0.1 if quick else 1.0)
    repeats = repeats if repeats is not None else (1 if quick else 3)
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            wall, _ = one_run(orbits, Path(tmp) / f"r{i}")
            walls.append(wall)
    wall = statistics.median(walls)
    sim_s = orbits * ORBIT_S
    return [
        BenchRecord(
            "full node, one orbit (wall)",
            wall / orbits,
            "s",
            None,
            None,
            None,
            f"goal <= 6 s; median of {repeats} x {orbits} orbit(s)",
        ),
        BenchRecord(
            "full node real-time factor", sim_s / wall, "x", None, None, None, "goal >= 1000x"
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orbits", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    records = run(
        args.quick, None if args.quick else args.orbits, None if args.quick else args.repeats
    )
    for r in records:
        print(f"{r.name:<32} {r.value:10.3f} {r.unit:<3} {r.note}")
    if args.profile:
        prof = cProfile.Profile()
        with tempfile.TemporaryDirectory() as tmp:
            prof.enable()
            one_run(min(args.orbits, 0.5), Path(tmp))
            prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(20)
        print(buf.getvalue())
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in records], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
