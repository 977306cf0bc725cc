"""Test rig for flight/gnc: Executive + SimClock + the GNC component on sim HAL devices.

The rig does not use the full node: it opens the ``sim`` backend through the registry,
keeps its world in lock-step with the executive (:func:`flight.testing.attach_plant`), and
plays the power application's two parts that GNC depends on:

* :class:`Environment` publishes the power budget and an eclipse forecast (the forecast from
  the truth orbit and Sun direction with a cylindrical shadow, an independent closed form);
* :class:`RailSwitch` switches the PDU's propulsion rail to follow GNC's latest
  PropulsionPowerRequest (``grant=False`` refuses every request, a power app that never
  lets the rail come up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from flight.apps import app_spec
from flight.core import Component, Executive, InstallContext, SimClock
from flight.gnc import GncComponent, build_component
from flight.messages import EclipseForecast, PowerBudget, PropulsionPowerRequest
from flight.node import make_context
from flight.testing import attach_plant
from hal import Pdu
from hal.registry import Backend, get_device, open_from_config

R_E = 6378137.0
MU = 3.986004418e14


def eclipse_forecast(r: np.ndarray, v: np.ndarray, sun: np.ndarray, t_ns: int) -> EclipseForecast:
    """Cylindrical-shadow forecast for a circular orbit through the current state."""
    rn = float(np.linalg.norm(r))
    p = r / rn
    h = np.cross(r, v)
    q = np.cross(h / np.linalg.norm(h), p)
    a, b = float(p @ sun), float(q @ sun)
    c = math.hypot(a, b)
    k = math.sqrt(1.0 - (R_E / rn) ** 2)
    n = math.sqrt(MU / rn**3)
    period = 2 * math.pi / n
    if c < 1e-12 or k / c >= 1.0:
        return EclipseForecast(t_ns, False, math.inf, math.inf, 0.0, period)
    phi = math.atan2(b, a)
    w = math.acos(-k / c)
    th_in = (phi + w) % (2 * math.pi)
    th_out = (phi + 2 * math.pi - w) % (2 * math.pi)
    dur = (2 * math.pi - 2 * w) / n
    in_ecl = math.cos(-phi) < -k / c
    return EclipseForecast(t_ns, in_ecl, th_in / n, th_out / n, dur, period)


class Environment(Component):
    """Publishes PowerBudget and EclipseForecast (what the power app would)."""

    def __init__(self, backend: Any, energy_margin_wh: float = 2000.0) -> None:
        super().__init__("env", 200)
        self.backend = backend
        self.energy_margin_wh = energy_margin_wh

    def step(self, t_ns: int) -> None:
        w = self.backend.world
        self.bus.publish(PowerBudget(t_ns, 500.0, 100.0, 0.8, 0.3, self.energy_margin_wh))
        self.bus.publish(
            eclipse_forecast(w.orbit.r_eci_m, w.orbit.v_eci_m_s, w.env.sun_eci_unit, t_ns)
        )


class RailSwitch(Component):
    """Follows the latest PropulsionPowerRequest on the PDU's propulsion rail (the power
    application's job in a node); with ``grant=False`` it keeps the rail off."""

    def __init__(self, pdu: Pdu, grant: bool = True) -> None:
        super().__init__("rail", 201)
        self.pdu = pdu
        self.grant = grant
        self.switched = 0  #: rail switchings made

    def step(self, t_ns: int) -> None:
        req = self.bus.latest(PropulsionPowerRequest)
        on = self.grant and req is not None and req.on
        if self.pdu.read().rail("propulsion").on != on:
            self.pdu.set_rail("propulsion", on)
            self.switched += 1


def install_context(backend: Backend, exe: Executive) -> InstallContext:
    """The install context the node would give the gnc app (registry line, devices, ids)."""
    return make_context(app_spec("gnc"), executive=exe, backend=backend)


class Rig:
    """Executive (0.1 Hz base) + SimClock + sim backend + GNC (+ environment publisher)."""

    def __init__(
        self,
        gnc: dict[str, Any] | None = None,
        world: dict[str, Any] | None = None,
        seed: int = 1,
        scenario: Any = None,
        base_hz: float = 0.1,
        env: bool = True,
        grant_rail: bool = True,
    ) -> None:
        hal: dict[str, Any] = {
            "backend": "sim",
            "seed": seed,
            "world": world or {},
            "devices": {
                "gnss": {"family": "gnss"},
                "thruster": {"family": "thruster"},
                "pdu": {"family": "pdu"},
                "nvm": {"family": "storage"},
            },
        }
        if scenario is not None:
            hal["scenario"] = scenario
        self.backend: Any = open_from_config(hal)  # the sim backend: world, advance
        self.clock = SimClock()
        self.exe = Executive(self.clock, base_hz, ping_period_s=10.0 / base_hz)
        attach_plant(self.exe, self.backend)
        section = {"storage": "nvm", **(gnc or {})}
        self.gnc: GncComponent = build_component(self.backend, section)
        if env:
            self.env = Environment(self.backend)
            self.exe.add(self.env, base_hz / 30.0)
        self.exe.add(self.gnc, self.gnc.cfg.rate_hz)
        # after GNC in the tick: a request is served before GNC's next step, as power would
        self.rail = RailSwitch(get_device(self.backend, "pdu", Pdu), grant_rail)
        self.exe.add(self.rail, base_hz)
        self.truth: list[tuple[float, np.ndarray]] = []
        self.records: list[Any] = []
        self.exe.events.add_sink(self.records.append)

    def run_days(self, days: float, truth_every_s: float = 0.0) -> None:
        """Run for ``days``; optionally log the truth state every ``truth_every_s``."""
        if truth_every_s <= 0:
            self.exe.run_for(round(days * 86400e9))
            return
        chunk = round(truth_every_s * 1e9)
        end = self.clock.now_ns() + round(days * 86400e9)
        w = self.backend.world
        while self.clock.now_ns() < end:
            self.exe.run_for(chunk)
            self.truth.append((w.t_ns / 1e9, np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])))

    def events(self, name: str) -> list[Any]:
        return [e for e in self.records if e.name == name]


@pytest.fixture
def rig_factory() -> Any:
    return Rig


@pytest.fixture
def context_factory() -> Any:
    return install_context
