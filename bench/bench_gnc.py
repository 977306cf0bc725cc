"""GNC station-keeping campaign: wall time and real-time factor of a 30-day run.

Builds an Executive (0.1 Hz base) on a SimClock with the GNC component on the ``sim``
backend's GNSS, thruster and storage, advances the world in lock-step (a tick hook) and plays
the power application's part: it publishes the power budget and an eclipse forecast
(cylindrical shadow from the world's truth) and switches the PDU's propulsion rail to follow
GNC's PropulsionPowerRequest. A small TLE catalogue (far objects exported with ``sgp4``)
is screened every two hours. Reports wall time, real-time factor and the figures of merit;
the drag make-up oracle is the integral of rho v_rel^2 / (2 B) over the world's truth.

    python bench/bench_gnc.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from flight.core import Component, Executive, SimClock
from flight.gnc import build_component
from flight.messages import EclipseForecast, PowerBudget, PropulsionPowerRequest
from flight.testing import attach_plant
from ground.bench.record import BenchRecord
from hal import Pdu
from hal.registry import get_device, open_from_config

R_E = 6378137.0
MU = 3.986004418e14
OMEGA_E = 7.292115146706979e-5


class _Environment(Component):
    """Publishes PowerBudget and a cylindrical-shadow EclipseForecast from the world truth."""

    def __init__(self, backend: Any) -> None:
        super().__init__("env", 200)
        self.backend = backend

    def step(self, t_ns: int) -> None:
        w = self.backend.world
        self.bus.publish(PowerBudget(t_ns, 500.0, 100.0, 0.8, 0.3, 2000.0))
        r, v, sun = w.orbit.r_eci_m, w.orbit.v_eci_m_s, w.env.sun_eci_unit
        rn = float(np.linalg.norm(r))
        p = r / rn
        h = np.cross(r, v)
        q = np.cross(h / np.linalg.norm(h), p)
        a, b = float(p @ sun), float(q @ sun)
        c = math.hypot(a, b)
        k = math.sqrt(1.0 - (R_E / rn) ** 2)
        n = math.sqrt(MU / rn**3)
        if c < 1e-12 or k / c >= 1.0:
            self.bus.publish(EclipseForecast(t_ns, False, math.inf, math.inf, 0.0, 2 * math.pi / n))
            return
        phi = math.atan2(b, a)
        wdt = math.acos(-k / c)
        t_in = ((phi + wdt) % (2 * math.pi)) / n
        t_out = ((phi + 2 * math.pi - wdt) % (2 * math.pi)) / n
        in_ecl = math.cos(-phi) < -k / c
        self.bus.publish(
            EclipseForecast(t_ns, in_ecl, t_in, t_out, (2 * math.pi - 2 * wdt) / n, 2 * math.pi / n)
        )


class _RailSwitch(Component):
    """Follows the latest PropulsionPowerRequest on the propulsion rail (power's job)."""

    def __init__(self, pdu: Pdu) -> None:
        super().__init__("rail", 201)
        self.pdu = pdu

    def step(self, t_ns: int) -> None:
        req = self.bus.latest(PropulsionPowerRequest)
        on = req is not None and req.on
        if self.pdu.read().rail("propulsion").on != on:
            self.pdu.set_rail("propulsion", on)


def _tle_catalogue(n: int = 5) -> str:
    """``n`` TLEs of objects in other planes (exported with sgp4's exporter)."""
    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    lines = []
    for i in range(n):
        sat = Satrec()
        no = 2 * math.pi / (95.0 + 3 * i)  # rad/min
        sat.sgp4init(WGS72, "i", 90000 + i, 27546.0, 2e-5,  # epoch 2025-06-01 (days from 1949-12-31)
                     0.0, 0.0, 0.001, 1.0 + i, math.radians(97.5 - i), 0.5 * i, no, math.radians(40 * i))  # fmt: skip
        l1, l2 = export_tle(sat)
        lines += [f"OBJ-{i}", l1, l2]
    return "\n".join(lines) + "\n"


def campaign(days: float) -> dict[str, Any]:
    """Run ``days`` of station-keeping; returns the gnc summary plus wall time and oracle."""
    backend: Any = open_from_config(
        {
            "backend": "sim",
            "seed": 1,
            "devices": {
                "gnss": {"family": "gnss"},
                "thruster": {"family": "thruster"},
                "pdu": {"family": "pdu"},
                "nvm": {"family": "storage"},
            },
        }
    )
    clock = SimClock()
    exe = Executive(clock, 0.1, ping_period_s=100.0)

    attach_plant(exe, backend)  # the world in lock-step (flight.testing: one harness)
    gnc = build_component(backend, {"storage": "nvm"})
    exe.add(_Environment(backend), 0.1 / 30)
    exe.add(gnc, gnc.cfg.rate_hz)
    exe.add(_RailSwitch(get_device(backend, "pdu", Pdu)), 0.1)
    try:
        gnc.load_catalogue_text(_tle_catalogue(), "bench")
    except Exception as exc:  # sgp4 missing or export problem: screen nothing
        print(f"no TLE catalogue: {exc}")
    w = backend.world
    cd = w.config.spacecraft.drag_coefficient
    drag_dv = 0.0
    step_s = 600.0
    wall = 0.0
    for _ in range(round(days * 86400 / step_s)):
        t0 = time.perf_counter()
        exe.run_for(round(step_s * 1e9))
        wall += time.perf_counter() - t0
        r, v = w.orbit.r_eci_m, w.orbit.v_eci_m_s
        vr = v - np.cross([0.0, 0.0, OMEGA_E], r)
        drag_dv += (
            0.5
            * w.env.density_kg_m3
            * cd
            * w.orbit.drag_area_m2
            / w.orbit.mass_kg
            * (vr @ vr)
            * step_s
        )
    s = gnc.summary()
    s["wall_s"] = wall
    s["sim_days"] = days
    s["drag_make_up_truth_m_s"] = drag_dv
    return s


def run(quick: bool = False) -> tuple[list[BenchRecord], dict[str, Any]]:
    """Bench records of the campaign (2 days with ``quick``, else 30 days)."""
    days = 2.0 if quick else 30.0
    s = campaign(days)
    rtf = days * 86400.0 / s["wall_s"]
    note = f"{days:g} simulated days, GNC at 0.1 Hz, OD every 60 s"
    dv, truth = s["delta_v_m_s"], s["drag_make_up_truth_m_s"]
    records = [
        BenchRecord(
            f"gnc {days:g}-day campaign wall time", s["wall_s"], "s", None, None, None, note
        ),
        BenchRecord("gnc real-time factor", rtf, "x", None, None, None, note),
        BenchRecord(
            "gnc slot error max",
            s["slot_error_max_km"],
            "km",
            None,
            None,
            None,
            f"box +-{s['slot_tolerance_km']} km",
        ),
        BenchRecord(
            "gnc altitude error max",
            s["altitude_error_max_m"],
            "m",
            None,
            None,
            None,
            f"box +-{s['altitude_tolerance_m']} m",
        ),
        BenchRecord(
            "gnc delta-v",
            dv,
            "m/s",
            "drag make-up (truth integral)",
            truth,
            truth / dv if dv else None,
            f"onboard analytic {s['delta_v_analytic_m_s']:.3f} m/s, {s['burns']} burns",
        ),
    ]
    return records, s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-day campaign")
    parser.add_argument("--json", help="write the records to this file")
    args = parser.parse_args(argv)
    records, s = run(args.quick)
    for r in records:
        peer = f"  (peer {r.peer}: {r.peer_value:.3f} {r.unit})" if r.peer else ""
        print(f"{r.name:<36} {r.value:10.3f} {r.unit}{peer}  {r.note}")
    print(f"burns {s['burns']}, screenings {s['screenings']}, objects screened {s['conjunctions_screened']}, "
          f"propellant {s['propellant_used_kg']:.4f} kg")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in records], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
