"""EDF against FIFO: deadlines met by the AI task executor over several orbits.

Both policies run the same seeded workload (the default job mix of ``flight.compute``) on the
same simulated spacecraft (``hal`` ``sim`` backend: orbit, eclipses, battery, thermal
network, accelerator), under the same power and thermal limits. The limits are published on
the bus every tick by a plant-side stand-in for the power and thermal applications:

* ``PowerBudget.compute_w``: in sunlight, the array's available power less the other loads;
  in eclipse, the battery energy above the floor spread over the rest of the eclipse, less
  the other loads (so the battery ends each eclipse above ``--soc-floor``);
* ``ThermalThrottle.max_power_frac``: 1 below ``--t-knee`` C on the compute node, falling
  linearly to 0 at ``--t-max`` C, published in quarter steps with hysteresis (the defaults
  are deliberately tight so that the throttle binds in the simulated world).

Checked at every tick (both policies): battery state of charge >= the floor, accelerator
electrical power <= the thermal cap, and the executor's commanded power within the cap.
Printed: deadlines met/missed, jobs, energy per job, the EDF/FIFO ratio (acceptance: >= 1.3),
minimum SOC and maximum compute temperature. Exit status 1 if the acceptance fails.

Usage: ``python bench/bench_compute.py [--orbits 3] [--seed 7] [--interarrival 60]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flight.compute import (
    ComputeExecutor,
    ExecutorConfig,
    Policy,
    WorkloadConfig,
    WorkloadGenerator,
)
from flight.core import Executive, SimClock, seconds_to_ns
from flight.messages import PowerBudget, ThermalThrottle
from flight.node import attach_plant
from flight.tmtc import TmtcService
from ground.bench import BenchRecord
from hal.registry import open_backend

ORBIT_S = 5739.0  # 550 km circular
ECLIPSE_S = 2135.0  # f_e = 0.372 at beta = 0 (REFERENCE.md)


@dataclass
class Plant:
    """Limits publisher and compliance monitor over the simulated world."""

    backend: Any
    executive: Executive
    soc_floor: float
    t_knee_c: float
    t_max_c: float
    eclipse_entry_ns: int | None = None
    frac: float = 1.0
    min_soc: float = 1.0
    max_temp_c: float = -273.0
    soc_violations: int = 0
    cap_violations: int = 0
    samples: int = 0
    budget_log: list[float] = field(default_factory=list)

    def __call__(self, t_ns: int) -> None:
        b = self.backend  # brought to t_ns by the plant lock-step hook, which runs first
        w = b.world
        p = w.power
        acc = b.device("accel")
        acc_w = acc.read().power_w
        other_w = max(0.0, p.bus_load_w - p.rail_load_w("compute"))
        e_wh = p.battery_capacity_ah * p.battery_ocv_v
        soc = p.battery_soc_frac
        if w.env.in_eclipse:
            if self.eclipse_entry_ns is None:
                self.eclipse_entry_ns = t_ns
            left = max(60.0, ECLIPSE_S - (t_ns - self.eclipse_entry_ns) / 1e9)
            budget = (soc - self.soc_floor) * e_wh * 3600.0 / left - other_w
        else:
            self.eclipse_entry_ns = None
            budget = 0.9 * p.array_available_w - other_w
        budget = max(0.0, budget)
        temp = w.thermal.temp_c("compute")
        target = min(1.0, max(0.0, (self.t_max_c - temp) / (self.t_max_c - self.t_knee_c)))
        # Quarter steps with hysteresis, as a thermal controller publishes them: down at
        # once, up only when the target is a clear step above.
        if target < self.frac or target >= self.frac + 0.35:
            self.frac = math.floor(target * 4.0) / 4.0
        frac = self.frac
        bus = self.executive.bus
        bus.publish(PowerBudget(t_ns, budget, 0.0, soc, self.soc_floor, 0.0))
        bus.publish(ThermalThrottle(t_ns, frac, f"compute {temp:.1f} C"))
        self.samples += 1
        self.min_soc = min(self.min_soc, soc)
        self.max_temp_c = max(self.max_temp_c, temp)
        if soc < self.soc_floor:
            self.soc_violations += 1
        # The cap published one tick ago is the one the executor acted on.
        last = getattr(self, "_last_cap_w", None)
        if last is not None and acc_w > last + 1e-6:
            self.cap_violations += 1
        self._last_cap_w = frac * max(m.power_w for m in acc.modes.values())
        self.budget_log.append(budget)


def run(policy: str, args: argparse.Namespace) -> dict[str, Any]:
    """One run of ``args.orbits`` orbits with ``policy``; returns its figures."""
    backend = open_backend("sim", seed=args.seed)
    backend.create("accelerator", "accel", {"noise_c": 0.0})
    backend.create("storage", "nv", {})
    backend.create("imager", "imager", {})
    clock = SimClock()
    ex = Executive(clock, args.base_hz)
    tm: list[bytes] = []
    tmtc = TmtcService(ex, 100, sinks=[tm.append], hk_interval_s=60.0)
    plant = Plant(backend, ex, args.soc_floor, args.t_knee, args.t_max)
    attach_plant(ex, backend, args.base_hz)  # the world follows every tick
    ex.add_tick_hook(plant)
    wl = WorkloadConfig(mean_interarrival_s=args.interarrival)
    cfg = ExecutorConfig(policy=Policy(policy), seed=args.seed, admission=not args.no_admission)
    comp = ComputeExecutor(
        backend.device("accel"),
        backend.device("nv"),
        backend.device("imager"),
        cfg,
        send_tm=tmtc.send_tm,
        generator=WorkloadGenerator(wl, args.seed),
    )
    ex.add(comp, args.base_hz)
    t0 = time.perf_counter()
    ex.run_for(seconds_to_ns(args.orbits * ORBIT_S))
    wall = time.perf_counter() - t0
    s = comp.summary()
    s.update(
        wall_s=wall,
        min_soc=plant.min_soc,
        max_compute_temp_c=plant.max_temp_c,
        soc_violations=plant.soc_violations,
        cap_violations=plant.cap_violations,
        tm_packets=len(tm),
        mean_budget_w=sum(plant.budget_log) / max(1, len(plant.budget_log)),
    )
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orbits", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--interarrival", type=float, default=45.0, help="mean s between jobs")
    ap.add_argument("--base-hz", type=float, default=2.0)
    ap.add_argument("--soc-floor", type=float, default=0.85)
    ap.add_argument("--t-knee", type=float, default=15.0)
    ap.add_argument("--t-max", type=float, default=25.0)
    ap.add_argument(
        "--no-admission", action="store_true", help="queue every job (no deadline admission test)"
    )
    ap.add_argument("--quick", action="store_true", help="one orbit instead of --orbits")
    ap.add_argument("--json", metavar="FILE", help="write the records (and both summaries) as JSON")
    args = ap.parse_args(argv)
    if args.quick:
        args.orbits = 1.0
    results = {p: run(p, args) for p in ("edf", "fifo")}
    keys = (
        "jobs_submitted", "jobs_rejected", "jobs_completed", "deadline_met", "deadline_missed",
        "jobs_aborted", "jobs_failed", "energy_j", "energy_per_job_j", "idle_energy_j",
        "preemptions", "thermal_violations", "cap_violations", "soc_violations", "min_soc",
        "max_compute_temp_c", "max_energy_debt_j", "mean_budget_w", "wall_s",
    )  # fmt: skip
    print(f"satnode compute bench: {args.orbits:g} orbits, seed {args.seed}, "
          f"mean interarrival {args.interarrival:g} s, SOC floor {args.soc_floor:.2f}, "
          f"thermal knee/max {args.t_knee:g}/{args.t_max:g} C, "
          f"admission test {'off' if args.no_admission else 'on'}")  # fmt: skip
    print(f"{'':24s}{'EDF':>14s}{'FIFO':>14s}")
    for k in keys:
        a, b = results["edf"][k], results["fifo"][k]
        fmt = "{:>14.3f}" if isinstance(a, float) else "{:>14d}"
        print(f"{k:24s}" + fmt.format(a) + fmt.format(b))
    met_e, met_f = results["edf"]["deadline_met"], results["fifo"]["deadline_met"]
    ratio = met_e / met_f if met_f else float("inf")
    print(f"deadlines met EDF/FIFO = {met_e}/{met_f} = {ratio:.2f} (acceptance >= 1.30)")
    if args.json:
        record = BenchRecord(
            "compute deadlines met, EDF",
            float(met_e),
            "jobs",
            "FIFO, same seed and workload",
            float(met_f),
            ratio,
            f"{args.orbits:g} orbits; acceptance >= 1.30",
        )
        payload = {"records": [record.as_dict()], "summaries": results}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str))
    ok = ratio >= 1.3 and all(
        r["soc_violations"] == 0 and r["cap_violations"] == 0 and r["thermal_violations"] == 0
        for r in results.values()
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
