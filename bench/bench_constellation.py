"""Constellation scale: full flight stacks per node, sharded over worker processes or Ray.

    python bench/bench_constellation.py              # the issue's figures (~25 min)
    python bench/bench_constellation.py --quick      # smaller runs (~5 min)
    python bench/bench_constellation.py --no-ray     # skip the Ray comparison
    python bench/bench_constellation.py --json out/constellation.json

Every run is ``run_constellation`` on the default node configuration (workload included,
every application installed) in a Walker delta constellation at 550 km / 53 deg, as
``satnode constellation`` runs it. Records:

* ``orbit.12``: a Walker 12/3/1 constellation for one orbit in this process (the laser-link
  issue's figure): wall seconds, node-seconds per wall-second in the note.
* ``scale.<N>x<S>.w2``: N nodes for S simulated seconds on 2 local worker processes:
  node-seconds per wall-second (goal >= 1,000 at 1,000 x 600 s), memory per node (goal
  <= 8 MB: resident memory added by building and running the nodes, divided by the nodes),
  the share of the run spent synchronising.
* ``scaling.1to2``: the same smaller constellation on 1 and on 2 workers, interleaved;
  efficiency = rate(2) / (2 rate(1)) (goal >= 85 %).
* ``ray.w2``: the same constellation on the Ray engine with 2 workers (a local Ray instance
  started by the run) against local processes, wall time ratio (goal <= 1.5x); results are
  checked equal.

Peers, quoted (REFERENCE.md; not runnable here): LeoDOS runs 66 full flight-software nodes on a
workstation; Hypatia's precomputation takes 20-48 h before a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from ground.bench import format_table
from ground.bench.record import BenchRecord
from ground.constellation import plan_constellation, run_constellation

LEODOS_NODES = 66  # REFERENCE.md: full flight-software nodes on a workstation
HYPATIA_PRECOMPUTE_H = (20, 48)  # REFERENCE.md: precomputation before a run, hours
ORBIT_S = 5739.0


def one_run(walker: str, duration_s: float, workers: int, engine: str = "local") -> dict[str, Any]:
    """The summary of one constellation run (seed 1) in a temporary folder."""
    plan = plan_constellation(None, walker=walker, seed=1)
    with tempfile.TemporaryDirectory(prefix="satnode-bench-") as d:
        return run_constellation(plan, Path(d), duration_s, workers=workers, engine=engine)


def _rate(s: dict[str, Any]) -> float:
    return float(s["scale"]["node_seconds_per_wall_second"])


def _same_results(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(s: dict[str, Any]) -> str:
        nodes = {n: {k: v for k, v in x.items() if k != "wall"} for n, x in s["nodes"].items()}
        return json.dumps([nodes, s["constellation"]], sort_keys=True, default=str)

    return strip(a) == strip(b)


def run(quick: bool, ray: bool) -> list[BenchRecord]:
    """Every record (see the module docstring)."""
    recs: list[BenchRecord] = []
    orbit = one_run("12/3/1", ORBIT_S / (4 if quick else 1), 1)
    recs.append(
        BenchRecord(
            "orbit.12" + (".quarter" if quick else ""),
            orbit["scale"]["run_wall_seconds"],
            "s wall",
            note=f"{_rate(orbit):.0f} node-s per wall-s; 12 nodes, 1 worker",
        )
    )
    big_walker, big_s = ("200/10/1", 120.0) if quick else ("1000/20/1", 600.0)
    big = one_run(big_walker, big_s, 2)
    n_big = big["scale"]["nodes"]
    recs.append(
        BenchRecord(
            f"scale.{n_big}x{big_s:.0f}s.w2",
            _rate(big),
            "node-s/wall-s",
            peer=f"LeoDOS ({LEODOS_NODES} nodes, quoted)",
            note=f"goal >= 1000; {n_big} full nodes; sync "
            f"{100 * big['scale']['sync_fraction']:.1f} % of the run; Hypatia precomputes "
            f"{HYPATIA_PRECOMPUTE_H[0]}-{HYPATIA_PRECOMPUTE_H[1]} h before a run (quoted)",
        )
    )
    recs.append(
        BenchRecord(
            f"scale.{n_big}x{big_s:.0f}s.memory_per_node",
            big["scale"]["memory_per_node_end_mb"],
            "MB",
            note=f"goal <= 8; peak RSS per worker {big['scale']['peak_rss_mb_per_worker']} MB",
        )
    )
    small_walker, small_s = ("96/12/1", 60.0) if quick else ("200/10/1", 120.0)
    one = [one_run(small_walker, small_s, 1), one_run(small_walker, small_s, 1)]
    two = [one_run(small_walker, small_s, 2), one_run(small_walker, small_s, 2)]
    r1 = max(_rate(s) for s in one)
    r2 = max(_rate(s) for s in two)
    recs.append(
        BenchRecord(
            f"scaling.1to2.{small_walker.split('/')[0]}x{small_s:.0f}s",
            100.0 * r2 / (2.0 * r1),
            "% efficiency",
            peer="1 worker (node-s/wall-s)",
            peer_value=r1,
            ratio=r2 / r1,
            note=f"goal >= 85 %; 2 workers {r2:.0f} node-s/wall-s; best of 2 runs each; "
            f"results equal: {_same_results(one[0], two[0])}",
        )
    )
    if ray:
        try:
            import ray as _ray  # noqa: F401
        except ImportError:
            print("ray: not installed (pip install 'satnode[cluster]'); skipped", file=sys.stderr)
        else:
            on_ray = one_run(small_walker, small_s, 2, engine="ray")
            local = one_run(small_walker, small_s, 2)
            t_ray = on_ray["scale"]["run_wall_seconds"]
            t_local = local["scale"]["run_wall_seconds"]
            recs.append(
                BenchRecord(
                    "ray.w2",
                    t_ray,
                    "s wall",
                    peer="local processes, 2 workers",
                    peer_value=t_local,
                    ratio=t_ray / t_local,
                    note=f"goal <= 1.5x; results equal: {_same_results(on_ray, local)}; Ray "
                    "start-up not counted",
                )
            )
    return recs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    ap.add_argument("--json", help="write the records here")
    args = ap.parse_args(argv)
    recs = run(args.quick, not args.no_ray)
    print(format_table(recs))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([r.as_dict() for r in recs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
