"""Memory over a long run: resident set size (RSS) per orbit of the default node (issue 19).

    python bench/bench_memory.py [--orbits 30] [--warmup 3] [--trace] [--json FILE]

Runs the embedded default configuration (every installed application, as ``satnode sim``)
in simulated time for ``--orbits`` orbits and samples the process RSS (``/proc/self/statm``,
resident pages x page size) after every orbit. After ``--warmup`` orbits (caches, JIT code,
rings filling up) memory must stay flat: the report gives the growth per orbit after the
warm-up (least-squares slope, MB/orbit) and fails (exit 1) above ``--limit`` MB/orbit.
``--trace`` also takes ``tracemalloc`` snapshots after the warm-up and at the end and prints
the source lines whose allocations grew most, which is how a leak is found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from flight.config import load_config
from flight.node import Node, NodeOptions

ORBIT_S = 5739.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident set size of this process (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / 1e6


def run(orbits: int, warmup: int, trace: bool) -> dict[str, Any]:
    """Run the default node ``orbits`` orbits; RSS after each one, growth after warm-up."""
    cfg = load_config(None)
    cfg["tmtc"]["ground_link"] = False
    rss: list[float] = []
    top: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(cfg, NodeOptions(out_dir=Path(tmp)))
        try:
            base = None
            for k in range(orbits):
                node.run(ORBIT_S)
                rss.append(rss_mb())
                print(f"orbit {k + 1:3d}: RSS {rss[-1]:8.2f} MB", flush=True)
                if trace and k + 1 == warmup:
                    tracemalloc.start(8)
                    base = tracemalloc.take_snapshot()
            if base is not None:
                stats = tracemalloc.take_snapshot().compare_to(base, "lineno")
                top = [str(s) for s in stats[:15]]
        finally:
            node.close()
    after = np.array(rss[warmup:])
    slope = float(np.polyfit(np.arange(after.size), after, 1)[0]) if after.size >= 2 else 0.0
    return {
        "orbits": orbits,
        "warmup_orbits": warmup,
        "rss_mb_per_orbit": rss,
        "growth_mb_per_orbit_after_warmup": slope,
        "tracemalloc_top_growth": top,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when memory stays within ``--limit`` MB/orbit after warm-up."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orbits", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--limit", type=float, default=0.05, help="MB/orbit allowed after warm-up")
    ap.add_argument("--trace", action="store_true", help="tracemalloc: what grew")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not 0 <= args.warmup < args.orbits:
        ap.error("--warmup must be in [0, --orbits)")
    report = run(args.orbits, args.warmup, args.trace)
    growth = report["growth_mb_per_orbit_after_warmup"]
    print(f"growth after {args.warmup} warm-up orbits: {growth:+.3f} MB/orbit (limit {args.limit})")
    for line in report["tracemalloc_top_growth"]:
        print("  " + line)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if growth <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
