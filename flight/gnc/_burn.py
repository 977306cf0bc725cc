"""Burn execution: a typed state machine from a planned delta-v to thrust on the thruster.

States (:class:`BurnState`) and transitions::

    IDLE --(plan due, duty/mode/window allow)--> POWERING    publish PropulsionPowerRequest(on)
    POWERING --(thruster reads READY, window allows)--> FIRING   emit burn_started, 1st segment
    POWERING --(no power after rail_timeout_s)--> IDLE       emit rail_timeout, request off,
                                                             retry after rail_retry_s
    POWERING --(window/mode closed meanwhile)--> IDLE        emit burn_deferred, request off
    FIRING --(segment done, more to go)--> FIRING            next segment, re-pointed
    FIRING --(end reached / mode left NOMINAL)--> IDLE       emit burn_done, request off
    FIRING --(rail lost)--> IDLE                             emit burn_interrupted, request off
    any --(FAULT/DEPLETED, DeviceFaultError, fire refused)--> IDLE with the fault latched

The power application owns the PDU: the executor never switches a rail, it asks over the bus
and fires only once the thruster itself reports powered (a read that does not raise
DeviceUnavailableError) and READY. A burn fires in ``segment_s`` segments, each pointed along
the predicted mid-segment velocity. Everything it remembers is bounded: counters, the current
plan/burn, and a ring of the last ``history_len`` outcomes.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from flight.gnc._config import GncConfig
from flight.gnc._kernels import G0_M_S2
from flight.gnc._mean import burn_time_for_delta_v_s
from flight.gnc._propagator import ThrustArc
from hal.propulsion import Thruster, ThrusterReading, ThrusterStatus
from native.errors import DeviceFaultError, DeviceUnavailableError, HalError

__all__ = [
    "ActiveBurn",
    "BurnEnvironment",
    "BurnExecutor",
    "BurnKind",
    "BurnOutcome",
    "BurnPlan",
    "BurnSegment",
    "BurnState",
    "FilterState",
]


@enum.unique
class BurnKind(enum.StrEnum):
    """Why a burn is made (its value appears in events)."""

    STATIONKEEPING = "stationkeeping"
    MANUAL = "manual"
    AVOIDANCE = "avoidance"


@enum.unique
class BurnState(enum.Enum):
    """Where the executor is (see the module docstring for the transitions)."""

    IDLE = "idle"  #: nothing to do, or a plan waiting for its time, duty cycle or window
    POWERING = "powering"  #: propulsion rail requested, waiting for the thruster to be READY
    FIRING = "firing"  #: segments being fired


@dataclass(frozen=True, slots=True)
class BurnPlan:
    """A tangential delta-v to deliver (m/s, signed: + along velocity), perhaps in several
    burns of at most ``max_burn_s``; none starts before ``not_before_s`` (onboard s)."""

    kind: BurnKind
    planned_delta_v_m_s: float
    remaining_delta_v_m_s: float
    not_before_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class BurnSegment:
    """One fired segment: constant acceleration ``accel_m_s2`` (m/s^2) along the unit ECI
    ``direction`` over ``[t0_s, t1_s)`` (onboard s)."""

    t0_s: float
    t1_s: float
    accel_m_s2: float
    direction: tuple[float, float, float]

    def arc(self) -> ThrustArc:
        """The segment as a thrust arc for orbit propagation."""
        return ThrustArc(self.t0_s, self.t1_s, self.accel_m_s2, self.direction)


@dataclass(frozen=True, slots=True)
class FilterState:
    """The orbit filter's ECI state ``x`` (m, m/s) at its epoch ``t_s`` (onboard s): what
    verification compares the re-converged orbit with when no full-orbit fit precedes a
    burn (the first burns after boot)."""

    t_s: float
    x: tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class ActiveBurn:
    """The burn being fired: from ``t0_s`` to ``end_s`` (onboard s), ``delta_v_m_s`` (signed,
    rocket equation over the whole duration), initial mass and propellant (kg), the secular
    mean a before it (m, full-orbit fit?) and the filter state at its start for
    verification, and the segments fired so far."""

    kind: BurnKind
    t0_s: float
    end_s: float
    delta_v_m_s: float
    mass_kg: float
    propellant0_kg: float
    a_before: tuple[float, bool] | None
    segments: int = 0
    state_before: FilterState | None = None

    @property
    def sign(self) -> float:
        """+1 along the velocity, -1 against it."""
        return 1.0 if self.delta_v_m_s >= 0.0 else -1.0


@dataclass(frozen=True, slots=True)
class BurnOutcome:
    """One finished (or aborted) burn.

    ``delta_v_m_s``: commanded delta-v actually fired (signed, rocket equation scaled by the
    fraction of the planned duration that ran); ``propellant_kg``: used, from the thruster's
    readings; ``ended``: '' for a normal end, else why it stopped early; ``achieved_*`` and
    ``ratio`` are filled in by verification one orbit later (None until then, or when the
    change was too small to judge); ``state_before`` is the filter state when the burn
    started and ``verified_by`` says which comparison judged it (``"fit"``: mean-a fits over
    the orbits before and after; ``"filter"``: the pre-burn filter state propagated across
    the burn against the re-converged one).
    """

    seq: int
    kind: BurnKind
    t0_s: float
    t1_s: float
    delta_v_m_s: float
    propellant_kg: float
    a_before: tuple[float, bool] | None = None
    ended: str = ""
    achieved_delta_v_m_s: float | None = None
    ratio: float | None = None
    state_before: FilterState | None = None
    verified_by: str = ""


class BurnEnvironment(Protocol):
    """What the executor asks of the rest of GNC (implemented by the component)."""

    def mode_allows_burns(self) -> bool:
        """True unless a mode other than NOMINAL is published."""
        ...

    def verification_pending(self) -> bool:
        """True while the previous burn still awaits its verification."""
        ...

    def window_s(self, t_s: float, kind: BurnKind) -> tuple[float, str]:
        """Longest burn (s) the power budget and sunlit window allow now, and why not longer."""
        ...

    def od_ready(self) -> bool:
        """True once orbit determination has converged (directions come from it)."""
        ...

    def velocity_direction(self, t_s: float) -> NDArray[np.float64]:
        """Unit ECI velocity predicted at ``t_s``."""
        ...

    def a_before(self, t_s: float) -> tuple[float, bool] | None:
        """Secular mean a (m) over the last orbit, for verification (None if unknown)."""
        ...

    def filter_state(self) -> FilterState | None:
        """The orbit filter's current state, for verification (None before it has one)."""
        ...

    def add_segment(self, segment: BurnSegment) -> None:
        """A segment was fired (the orbit filter propagates through it)."""
        ...


class BurnExecutor:
    """The burn state machine (see the module docstring).

    ``request_power(on, reason)`` publishes a :class:`~flight.messages.PropulsionPowerRequest`;
    ``emit(event, **args)`` emits a declared GNC event; ``on_fault(reason)`` is called after a
    fault is latched (the component stops autonomy).
    """

    def __init__(
        self,
        cfg: GncConfig,
        thruster: Thruster,
        request_power: Callable[[bool, str], None],
        emit: Callable[..., object],
        on_fault: Callable[[str], None],
    ) -> None:
        self.cfg = cfg
        self.thruster = thruster
        self._request_power = request_power
        self._emit = emit
        self._on_fault = on_fault
        self.state = BurnState.IDLE
        self.plan: BurnPlan | None = None
        self.active: ActiveBurn | None = None
        self.fault = ""  #: latched thruster fault ('' = none)
        self.power_requested = False
        self.powering_since_s = 0.0
        self.retry_at_s = -math.inf
        self.last_burn_end_s: float | None = None
        self.propellant_kg: float | None = None  #: from the last thruster reading
        self._deferred = ""
        # bounded statistics
        self.outcomes: deque[BurnOutcome] = deque(maxlen=cfg.history_len)
        self.outcome_count = 0  #: every outcome, aborted ones included
        self.burn_count = 0  #: outcomes with a non-zero duration
        self.delta_v_m_s = 0.0  #: total |commanded delta-v| fired
        self.propellant_used_kg = 0.0
        self.rail_timeouts = 0

    # -- plans --------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True with a plan queued or a burn powering or firing."""
        return self.plan is not None or self.state is not BurnState.IDLE

    @property
    def pending_delta_v_m_s(self) -> float:
        """Signed delta-v still to deliver by the queued plan (m/s)."""
        return self.plan.remaining_delta_v_m_s if self.plan is not None else 0.0

    def submit(self, plan: BurnPlan) -> None:
        """Queue ``plan`` (replacing any queued one) and announce it (event burn_planned)."""
        if plan.remaining_delta_v_m_s == 0.0 or not math.isfinite(plan.remaining_delta_v_m_s):
            raise ValueError(f"a burn plan needs a finite non-zero delta-v, got {plan}")
        self.plan = plan
        self._deferred = ""
        self.retry_at_s = -math.inf
        self._emit(
            "burn_planned", kind=plan.kind, dv_m_s=plan.planned_delta_v_m_s, reason=plan.reason
        )

    def cancel_plan(self) -> None:
        """Drop the queued plan; a burn still waiting for power is abandoned, a firing one
        runs to the end of its current burn."""
        self.plan = None
        if self.state is BurnState.POWERING:
            self._release("burn cancelled")
            self.state = BurnState.IDLE

    def preempt(self, t_s: float) -> BurnOutcome | None:
        """Stop whatever is under way (an avoidance burn takes over). Returns the outcome of a
        burn that was firing."""
        self.plan = None
        if self.state is BurnState.FIRING:
            return self._finish(t_s, self.propellant_kg, "preempted")
        if self.state is BurnState.POWERING:
            self._release("burn preempted")
            self.state = BurnState.IDLE
        return None

    def stop(self, t_s: float) -> BurnOutcome | None:
        """The component is stopping: end a firing burn, abandon a powering one (the plan
        stays queued for a restart) and withdraw the power request."""
        out = None
        if self.state is BurnState.FIRING:
            out = self._finish(t_s, self.propellant_kg, "gnc stopped")
        self.state = BurnState.IDLE
        self._release("gnc stopped")
        return out

    # -- the state machine --------------------------------------------------------------------
    def step(self, t_s: float, env: BurnEnvironment) -> BurnOutcome | None:
        """Advance at onboard ``t_s``; returns the outcome of a burn that ended now."""
        if self.state is BurnState.FIRING:
            return self._continue(t_s, env)
        if self.state is BurnState.POWERING:
            return self._await_power(t_s, env)
        plan = self.plan
        if plan is None or t_s < plan.not_before_s or t_s < self.retry_at_s:
            return None
        if self.fault:
            self.plan = None
            return None
        if not self._duty_allows(t_s, plan.kind, env):
            return None
        window, why = env.window_s(t_s, plan.kind)
        if not env.od_ready():
            self._defer(plan.kind, "orbit determination not converged")
            return None
        # Before asking for power, check the window against the last known mass: a burn that
        # cannot fit does not cycle the rail.
        need = self._burn_time_s(plan, self.propellant_kg or 0.0, self.cfg.isp_s)
        if min(need, self.cfg.max_burn_s, window) < min(self.cfg.min_burn_s, need):
            self._defer(plan.kind, why)
            return None
        self.state = BurnState.POWERING
        self.powering_since_s = t_s
        self._request(f"{plan.kind} burn")
        return self._await_power(t_s, env)  # the rail may already be up

    def _duty_allows(self, t_s: float, kind: BurnKind, env: BurnEnvironment) -> bool:
        """Mode and duty cycle (avoidance burns ignore both)."""
        if kind is BurnKind.AVOIDANCE:
            return True
        if env.verification_pending():
            return False
        if (
            self.last_burn_end_s is not None
            and t_s < self.last_burn_end_s + self.cfg.min_interval_s
        ):
            return False
        if not env.mode_allows_burns():
            self._defer(kind, "mode is not NOMINAL")
            return False
        return True

    def _await_power(self, t_s: float, env: BurnEnvironment) -> BurnOutcome | None:
        plan = self.plan
        if plan is None or self.fault:
            self._release("burn cancelled")
            self.state = BurnState.IDLE
            return None
        try:
            rd = self._read()
        except DeviceUnavailableError:
            waited = t_s - self.powering_since_s
            if waited >= self.cfg.rail_timeout_s:
                self.rail_timeouts += 1
                self._release("rail timeout")
                self.state = BurnState.IDLE
                self.retry_at_s = t_s + self.cfg.rail_retry_s
                self._emit(
                    "rail_timeout", kind=plan.kind, timeout_s=waited, retry_s=self.cfg.rail_retry_s
                )
            return None
        except HalError as exc:
            self._latch(f"thruster unavailable: {exc}")
            return None
        if rd.status in (ThrusterStatus.FAULT, ThrusterStatus.DEPLETED):
            self._latch(f"status {rd.status.name}")
            return None
        if rd.status is ThrusterStatus.FIRING:
            return None  # a segment of an interrupted burn is still firing: start when it ends
        if not self._duty_allows(t_s, plan.kind, env):
            self._release("burn deferred")
            self.state = BurnState.IDLE
            return None
        window, why = env.window_s(t_s, plan.kind)
        cfg = self.cfg
        isp = float(rd.isp_s) if rd.isp_s > 0 else cfg.isp_s
        need = self._burn_time_s(plan, float(rd.propellant_kg), isp)
        dur = min(need, cfg.max_burn_s, window)
        if dur < min(cfg.min_burn_s, need):
            self._release("burn deferred")
            self.state = BurnState.IDLE
            self._defer(plan.kind, why)
            return None
        self._start(t_s, plan, rd, isp, dur, env)
        return None

    def _burn_time_s(self, plan: BurnPlan, propellant_kg: float, isp_s: float) -> float:
        mass = self.cfg.dry_mass_kg + propellant_kg
        return burn_time_for_delta_v_s(mass, plan.remaining_delta_v_m_s, self.cfg.thrust_n, isp_s)

    def _start(
        self,
        t_s: float,
        plan: BurnPlan,
        rd: ThrusterReading,
        isp_s: float,
        duration_s: float,
        env: BurnEnvironment,
    ) -> None:
        cfg = self.cfg
        mass = cfg.dry_mass_kg + float(rd.propellant_kg)
        mdot = cfg.thrust_n / (isp_s * G0_M_S2)
        dv = isp_s * G0_M_S2 * math.log(mass / (mass - mdot * duration_s))
        sign = 1.0 if plan.remaining_delta_v_m_s > 0 else -1.0
        before = env.a_before(t_s) if cfg.verify else None
        state = env.filter_state() if cfg.verify else None
        self.active = ActiveBurn(
            plan.kind,
            t_s,
            t_s + duration_s,
            sign * dv,
            mass,
            float(rd.propellant_kg),
            before,
            state_before=state,
        )
        left = plan.remaining_delta_v_m_s - sign * dv
        if abs(left) < 1e-5 or (left > 0) != (sign > 0):
            self.plan = None
        else:
            self.plan = replace(plan, remaining_delta_v_m_s=left)
        self._deferred = ""
        self.state = BurnState.FIRING
        self._emit("burn_started", kind=plan.kind, duration_s=duration_s, dv_m_s=sign * dv)
        self._fire_segment(t_s, env)

    def _fire_segment(self, t_s: float, env: BurnEnvironment) -> None:
        burn = self.active
        assert burn is not None
        dur = min(self.cfg.segment_s, burn.end_s - t_s)
        d = burn.sign * env.velocity_direction(t_s + 0.5 * dur)
        direction = (float(d[0]), float(d[1]), float(d[2]))
        try:
            self.thruster.fire(direction, dur)
        except DeviceFaultError as exc:
            self._latch(str(exc))
            return
        except HalError as exc:
            self._latch(f"fire rejected: {exc}")
            return
        self.active = replace(burn, segments=burn.segments + 1)
        env.add_segment(BurnSegment(t_s, t_s + dur, self.cfg.thrust_n / burn.mass_kg, direction))

    def _continue(self, t_s: float, env: BurnEnvironment) -> BurnOutcome | None:
        burn = self.active
        assert burn is not None
        try:
            rd = self._read()
        except DeviceUnavailableError:
            # Power took the rail away (SAFE, shedding): the PPU has stopped the burn.
            out = self._finish(t_s, self.propellant_kg, "propulsion rail lost")
            self._emit("burn_interrupted", kind=burn.kind, reason="propulsion rail lost")
            return out
        except HalError as exc:
            self._latch(f"thruster unavailable during burn: {exc}")
            return None
        if rd.status in (ThrusterStatus.FAULT, ThrusterStatus.DEPLETED):
            self._latch(f"status {rd.status.name} during burn")
            return None
        if rd.status is ThrusterStatus.FIRING:
            return None
        if t_s >= burn.end_s - 1e-6:
            return self._finish(t_s, float(rd.propellant_kg), "")
        if burn.kind is not BurnKind.AVOIDANCE and not env.mode_allows_burns():
            out = self._finish(t_s, float(rd.propellant_kg), "mode left NOMINAL")
            self._emit("burn_interrupted", kind=burn.kind, reason="mode left NOMINAL")
            return out
        self._fire_segment(t_s, env)
        return None

    def _finish(self, t_s: float, propellant_kg: float | None, ended: str) -> BurnOutcome:
        burn = self.active
        assert burn is not None
        self.active = None
        self.state = BurnState.IDLE
        self._release(f"{burn.kind} burn done")
        frac = min(1.0, (t_s - burn.t0_s) / max(1e-9, burn.end_s - burn.t0_s))
        dv = burn.delta_v_m_s * frac
        used = max(0.0, burn.propellant0_kg - propellant_kg) if propellant_kg is not None else 0.0
        out = self._record(burn, t_s, dv, used, ended)
        self.last_burn_end_s = t_s
        self._emit("burn_done", kind=burn.kind, dv_m_s=dv)
        return out

    def _record(
        self, burn: ActiveBurn, t1_s: float, dv: float, used_kg: float, ended: str
    ) -> BurnOutcome:
        out = BurnOutcome(
            self.outcome_count,
            burn.kind,
            burn.t0_s,
            t1_s,
            dv,
            used_kg,
            burn.a_before,
            ended,
            state_before=burn.state_before,
        )
        self.outcome_count += 1
        if t1_s > burn.t0_s:
            self.burn_count += 1
        self.delta_v_m_s += abs(dv)
        self.propellant_used_kg += used_kg
        self.outcomes.append(out)
        return out

    def update_outcome(self, outcome: BurnOutcome) -> None:
        """Replace the ring entry with the same ``seq`` (verification results)."""
        for i, o in enumerate(self.outcomes):
            if o.seq == outcome.seq:
                self.outcomes[i] = outcome
                return

    # -- faults, power, helpers ---------------------------------------------------------------
    def latch_fault(self, reason: str) -> None:
        """FDIR: latch the fault, cancel plans and burns, release power, tell the ground."""
        self._latch(reason)

    def clear_fault(self) -> None:
        """Forget the latched fault (the ground has looked at it)."""
        self.fault = ""

    def _latch(self, reason: str) -> None:
        self.fault = reason
        self.plan = None
        if self.active is not None:
            burn = self.active
            self.active = None
            self._record(burn, burn.t0_s, 0.0, 0.0, f"fault: {reason}")
        self.state = BurnState.IDLE
        self._release("thruster fault")
        self._emit("thruster_fault", reason=reason)
        self._on_fault(reason)

    def _read(self) -> ThrusterReading:
        rd = self.thruster.read()
        self.propellant_kg = float(rd.propellant_kg)
        return rd

    def _request(self, reason: str) -> None:
        self.power_requested = True
        self._request_power(True, reason)

    def _release(self, reason: str) -> None:
        if self.power_requested:
            self.power_requested = False
            self._request_power(False, reason)

    def _defer(self, kind: BurnKind, reason: str) -> None:
        if reason != self._deferred:
            self._deferred = reason
            self._emit("burn_deferred", kind=kind, reason=reason)
