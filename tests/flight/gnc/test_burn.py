"""The burn state machine on its own: typed transitions, power over the bus, the rail timeout.

A scripted thruster stands in for the device (unpowered reads raise DeviceUnavailableError,
as a device whose rail is off does); the oracle for the delta-v is the rocket equation
``dv = Isp g0 ln(m0 / (m0 - mdot t))`` written out here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from flight.gnc import (
    BurnExecutor,
    BurnKind,
    BurnOutcome,
    BurnPlan,
    BurnSegment,
    BurnState,
    FilterState,
    parse_config,
)
from hal import Family, ThrusterReading, ThrusterStatus
from native.errors import DeviceFaultError, DeviceUnavailableError

G0 = 9.80665
DV_REL_TOL = 1e-12  # same closed form, different arithmetic order


class ScriptedThruster:
    """A thruster whose power, status and clock the test sets."""

    name = "thruster"
    family = Family.THRUSTER
    max_burn_s = 3600.0

    def __init__(self) -> None:
        self.powered = False
        self.failed = False
        self.now_s = 0.0
        self.firing_until_s = -math.inf
        self.propellant_kg = 50.0
        self.fired: list[tuple[float, tuple[float, ...], float]] = []

    def _status(self) -> ThrusterStatus:
        if self.failed:
            return ThrusterStatus.FAULT
        if self.now_s < self.firing_until_s:
            return ThrusterStatus.FIRING
        return ThrusterStatus.READY

    def read(self) -> ThrusterReading:
        if not self.powered:
            raise DeviceUnavailableError("thruster: rail 'propulsion' is off")
        return ThrusterReading(
            round(self.now_s * 1e9), True, self._status(), 0.0, 1500.0, self.propellant_kg, 0.0
        )

    def fire(self, direction_eci: Sequence[float], duration_s: float) -> None:
        if not self.powered:
            raise DeviceUnavailableError("thruster: rail 'propulsion' is off")
        if self.failed:
            raise DeviceFaultError("thruster: failed")
        self.fired.append((self.now_s, tuple(direction_eci), duration_s))
        self.firing_until_s = self.now_s + duration_s


@dataclass
class Env:
    """BurnEnvironment with everything allowed unless the test says otherwise."""

    mode_ok: bool = True
    window: float = math.inf
    segments: list[BurnSegment] = field(default_factory=list)

    def mode_allows_burns(self) -> bool:
        return self.mode_ok

    def verification_pending(self) -> bool:
        return False

    def window_s(self, t_s: float, kind: BurnKind) -> tuple[float, str]:
        return self.window, "sunlit window or energy too short"

    def od_ready(self) -> bool:
        return True

    def velocity_direction(self, t_s: float) -> NDArray[np.float64]:
        return np.array([0.0, 1.0, 0.0])

    def a_before(self, t_s: float) -> tuple[float, bool] | None:
        return None

    def filter_state(self) -> FilterState | None:
        return None

    def add_segment(self, segment: BurnSegment) -> None:
        self.segments.append(segment)


class Harness:
    """An executor wired to a scripted thruster, a request log and an event log."""

    def __init__(self, **cfg: Any) -> None:
        self.cfg = parse_config({"verify": False, **cfg})
        self.thruster = ScriptedThruster()
        self.requests: list[tuple[bool, str]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[str] = []
        self.env = Env()
        self.ex = BurnExecutor(
            self.cfg,
            self.thruster,
            lambda on, why: self.requests.append((on, why)),
            lambda name, **args: self.events.append((name, args)),
            self.faults.append,
        )
        self.t = 0.0

    def step(self, dt: float = 10.0) -> BurnOutcome | None:
        self.t += dt
        self.thruster.now_s = self.t
        return self.ex.step(self.t, self.env)

    def state(self) -> BurnState:
        """The executor's state (a call, so that type narrowing does not stick)."""
        return self.ex.state

    def names(self) -> list[str]:
        return [n for n, _ in self.events]


def _plan(dv: float = 0.02, kind: BurnKind = BurnKind.MANUAL) -> BurnPlan:
    return BurnPlan(kind, dv, dv, 0.0, "test")


def test_power_is_requested_and_the_burn_fires_only_once_powered() -> None:
    h = Harness()
    h.ex.submit(_plan())
    assert h.state() is BurnState.IDLE and h.names() == ["burn_planned"]
    h.step()
    assert h.state() is BurnState.POWERING
    assert h.requests == [(True, "manual burn")]
    h.step()  # the rail is not up yet: still waiting, nothing fired
    assert h.state() is BurnState.POWERING and not h.thruster.fired
    h.thruster.powered = True  # what the power application does on the request
    h.step()
    assert h.state() is BurnState.FIRING and len(h.thruster.fired) == 1
    assert "burn_started" in h.names()
    out = None
    while out is None:
        out = h.step()
    assert h.state() is BurnState.IDLE and h.ex.plan is None
    assert h.requests[-1][0] is False  # released after the burn
    assert h.ex.power_requested is False
    # The commanded delta-v of the firing: the rocket equation over its duration.
    dur = sum(d for _, _, d in h.thruster.fired)
    m0 = h.cfg.dry_mass_kg + h.thruster.propellant_kg
    mdot = h.cfg.thrust_n / (1500.0 * G0)
    assert out.delta_v_m_s == pytest.approx(
        1500.0 * G0 * math.log(m0 / (m0 - mdot * dur)), rel=DV_REL_TOL
    )
    assert out.delta_v_m_s == pytest.approx(0.02, rel=1e-9)  # the plan, in one burn
    assert [s.t1_s - s.t0_s for s in h.env.segments] == [d for _, _, d in h.thruster.fired]
    assert h.ex.burn_count == 1 and h.ex.outcomes[-1] == out


def test_rail_that_never_comes_up_times_out_and_retries_later() -> None:
    h = Harness(rail_timeout_s=60.0, rail_retry_s=600.0)
    h.ex.submit(_plan())
    h.step()
    t_request = h.t
    while h.state() is BurnState.POWERING:
        h.step()
    assert h.t - t_request >= 60.0 and h.t - t_request < 60.0 + 10.0
    assert h.state() is BurnState.IDLE
    assert h.names().count("rail_timeout") == 1
    assert h.requests == [(True, "manual burn"), (False, "rail timeout")]
    assert h.ex.plan is not None and h.ex.rail_timeouts == 1
    assert not h.thruster.fired and not h.faults  # not a thruster fault
    # No new request before the retry time, then one.
    while h.t < t_request + 60.0 + 590.0:
        h.step()
        assert h.state() is BurnState.IDLE
    h.step(20.0)
    assert h.state() is BurnState.POWERING and h.requests[-1] == (True, "manual burn")


def test_rail_lost_during_a_burn_interrupts_it() -> None:
    h = Harness()
    h.thruster.powered = True
    h.ex.submit(_plan(0.05))
    h.step()
    assert h.state() is BurnState.FIRING
    h.step(60.0)
    h.thruster.powered = False  # power withdrew the rail (SAFE, shedding)
    out = h.step()
    assert out is not None and out.ended == "propulsion rail lost"
    assert h.state() is BurnState.IDLE and "burn_interrupted" in h.names()
    assert not h.faults and h.requests[-1][0] is False


def test_thruster_fault_at_power_up_latches_and_releases_the_rail() -> None:
    h = Harness()
    h.thruster.powered = True
    h.thruster.failed = True
    h.ex.submit(_plan())
    h.step()
    assert h.ex.fault == "status FAULT" and h.faults == ["status FAULT"]
    assert h.state() is BurnState.IDLE and h.ex.plan is None
    assert h.requests == [(True, "manual burn"), (False, "thruster fault")]
    assert "thruster_fault" in h.names()
    h.ex.submit(_plan())  # a latched fault refuses to start anything
    h.step()
    assert h.state() is BurnState.IDLE and h.ex.plan is None


def test_window_too_short_defers_without_cycling_the_rail() -> None:
    h = Harness()
    h.env.window = 10.0  # shorter than min_burn_s
    h.ex.submit(_plan())
    for _ in range(5):
        h.step()
    assert h.state() is BurnState.IDLE and not h.requests
    assert h.names().count("burn_deferred") == 1  # once per reason


def test_plan_types_are_frozen_and_kinds_unique() -> None:
    p = _plan()
    with pytest.raises(AttributeError):
        p.remaining_delta_v_m_s = 0.0  # type: ignore[misc]
    assert len({k.value for k in BurnKind}) == len(BurnKind)
    assert len({s.value for s in BurnState}) == len(BurnState)
    with pytest.raises(ValueError):
        Harness().ex.submit(_plan(0.0))


# -- property: random power, mode and command sequences keep the invariants -------------------
ACTIONS = st.lists(
    st.sampled_from(["step", "step", "step", "power", "unpower", "mode", "window", "cancel",
                     "submit", "fail", "preempt", "stop"]),
    min_size=1, max_size=80,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(ACTIONS)
def test_invariants_hold_for_any_sequence(actions: list[str]) -> None:
    h = Harness(rail_timeout_s=30.0, rail_retry_s=60.0, min_interval_s=0.0, history_len=2)
    for a in actions:
        if a == "step":
            n = len(h.thruster.fired)
            h.step()
            if len(h.thruster.fired) > n:  # fired only with its power request standing
                assert h.requests[-1][0] and h.state() is BurnState.FIRING
        elif a == "power":
            h.thruster.powered = True
        elif a == "unpower":
            h.thruster.powered = False
        elif a == "mode":
            h.env.mode_ok = not h.env.mode_ok
        elif a == "window":
            h.env.window = 0.0 if h.env.window else math.inf
        elif a == "cancel":
            h.ex.cancel_plan()
        elif a == "submit" and not h.ex.busy:
            h.ex.submit(_plan(0.01))
        elif a == "fail":
            h.thruster.failed = True
        elif a == "preempt":
            h.ex.preempt(h.t)
        elif a == "stop":
            h.ex.stop(h.t)
        ex = h.ex
        # power is requested exactly while powering or firing
        assert ex.power_requested == (ex.state is not BurnState.IDLE)
        assert (ex.active is not None) == (ex.state is BurnState.FIRING)
        # requests alternate on/off, starting with on
        assert all(r[0] == (i % 2 == 0) for i, r in enumerate(h.requests))
        assert not (ex.fault and ex.state is not BurnState.IDLE)
        # bounded memory: the ring keeps the last two, the counters count everything
        assert len(ex.outcomes) == min(2, ex.outcome_count)
        assert ex.burn_count <= ex.outcome_count
