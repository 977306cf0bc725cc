"""Planning: the control box, the drag make-up control law and the limits a burn must fit.

**Control box** (:class:`ControlBox`): a target mean semi-major axis ``a_t`` and a slot, a
reference mean longitude ``lambda_ref(t) = lambda_0 + rate t`` moving at the calibrated
mean-longitude rate of ``a_t`` (:func:`~flight.gnc.calibrate_reference_rate`). The slot error
is ``x = a_t wrap(lambda - lambda_ref(t))`` (m, positive = ahead), the altitude error
``da = a - a_t`` (m). Both boxes are +- ``slot_tol_m`` / ``alt_tol_m``.

**Control law** (:meth:`StationKeepingPlanner.control_law`): with ``x' = -(3/2) n da`` and
``da' = -D`` (decay rate D >= 0) the slot error is a parabola. When the node would leave the
used part of the box (``box_use_frac``) within the planning horizon, the planner commands
``da = sqrt((x + L_u) D / (0.75 n))`` (the parabola whose vertex touches the far edge
``-L_u``), clamped to the altitude box, and converts the change to a tangential delta-v
(``dv = v da / 2a``).

**Limits** (:func:`burn_window_s`): the longest burn the power budget allows (thruster energy
plus ``power_margin_frac`` under the budget's ``energy_margin_wh``, and SoC headroom above its
floor) and, with ``avoid_eclipse``, the time left before the next eclipse entry minus a margin.
Avoidance burns ignore both (a collision costs more than a deep discharge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flight.gnc._config import GncConfig
from flight.gnc._estimation import Estimate
from flight.gnc._kernels import EARTH_RADIUS_M, MU_EARTH_M3_S2
from flight.gnc._mean import delta_v_for_delta_a_m_s
from flight.gnc._propagator import OrbitPropagator, calibrate_reference_rate
from flight.messages import EclipseForecast, PowerBudget

__all__ = ["ControlBox", "StationKeepingPlanner", "burn_window_s"]

_TWO_PI = 2.0 * math.pi
#: Semi-major axis (m) used for periods before any target or estimate exists (~520 km).
_FALLBACK_A_M = 6.9e6


def _wrap(angle: float) -> float:
    return (angle + math.pi) % _TWO_PI - math.pi


@dataclass(slots=True)
class ControlBox:
    """The station-keeping box (m, rad, rad/s); ``None`` fields until captured or set."""

    a_target_m: float | None
    lam0_rad: float | None
    lam_rate_rad_s: float | None
    slot_tol_m: float
    alt_tol_m: float

    @classmethod
    def from_config(cls, cfg: GncConfig) -> ControlBox:
        """The box of the ``[gnc]`` section (target and slot captured later when absent)."""
        return cls(
            None
            if cfg.target_altitude_km is None
            else EARTH_RADIUS_M + cfg.target_altitude_km * 1e3,
            None if cfg.slot_arg_lat_deg is None else math.radians(cfg.slot_arg_lat_deg),
            None,
            cfg.slot_tolerance_km * 1e3,
            cfg.altitude_tolerance_m,
        )

    @property
    def ready(self) -> bool:
        """True when target, slot and reference rate are all known."""
        return (
            self.a_target_m is not None
            and self.lam0_rad is not None
            and self.lam_rate_rad_s is not None
        )

    def period_s(self, estimate: Estimate | None = None) -> float:
        """Orbital period (s) of the target orbit (else of the estimate, else ~520 km)."""
        a = self.a_target_m or (estimate.a_m if estimate is not None else _FALLBACK_A_M)
        return _TWO_PI * math.sqrt(a**3 / MU_EARTH_M3_S2)

    def mean_motion_rad_s(self) -> float:
        """Mean motion (rad/s) of the target orbit (~520 km before there is one)."""
        a = self.a_target_m or _FALLBACK_A_M
        return math.sqrt(MU_EARTH_M3_S2 / a**3)

    def capture(self, est: Estimate, prop: OrbitPropagator) -> None:
        """Complete the box from an estimate: target a (if unset) and slot (if unset)."""
        if self.a_target_m is None:
            self.a_target_m = est.a_m
        self.lam_rate_rad_s = calibrate_reference_rate(self.a_target_m, est.inc_rad, prop)
        if self.lam0_rad is None:
            self.lam0_rad = _wrap(est.lam_rad - self.lam_rate_rad_s * est.t_s) % _TWO_PI

    def errors(self, est: Estimate) -> tuple[float, float]:
        """(slot error m, + ahead; altitude error m) of ``est`` against the box."""
        if self.a_target_m is None or self.lam0_rad is None or self.lam_rate_rad_s is None:
            raise ValueError("the control box is not captured yet")
        x = self.a_target_m * _wrap(est.lam_rad - self.lam0_rad - self.lam_rate_rad_s * est.t_s)
        return x, est.a_m - self.a_target_m

    def contains(self, x_m: float, da_m: float) -> bool:
        """True when both errors are inside the box."""
        return abs(x_m) <= self.slot_tol_m and abs(da_m) <= self.alt_tol_m


class StationKeepingPlanner:
    """The drag make-up control law of one :class:`ControlBox` (see the module docstring)."""

    def __init__(self, cfg: GncConfig, box: ControlBox) -> None:
        self.cfg = cfg
        self.box = box

    def plan_interval_s(self) -> float:
        """Time between two plans (s): ``plan_interval_s`` or one orbital period."""
        return self.cfg.plan_interval_s or self.box.period_s()

    def control_law(self, x_m: float, da_m: float, decay_m_s: float) -> tuple[float, str]:
        """Delta-v (m/s, signed; 0 = no burn) and the reason, for slot error ``x_m`` (+ ahead),
        mean-a error ``da_m`` and decay rate ``decay_m_s`` (>= 0)."""
        box = self.box
        if box.a_target_m is None:
            raise ValueError("the control box has no target")
        cfg = self.cfg
        n = box.mean_motion_rad_s()
        period = box.period_s()
        big_l, big_a = box.slot_tol_m, box.alt_tol_m
        lu, au = cfg.box_use_frac * big_l, cfg.box_use_frac * big_a
        d = decay_m_s
        horizon = self.plan_interval_s() + period
        da_h = da_m - d * horizon
        x_h = x_m - 1.5 * n * da_m * horizon + 0.75 * n * d * horizon**2
        xdot_h = -1.5 * n * da_h
        reason = ""
        if da_h < -au:
            reason = "altitude low"
        elif x_h > lu and xdot_h > 0:
            reason = "slot forward edge"
        elif da_m > big_a:
            reason = "altitude high"
        elif d > 0 and da_m > 0 and self.time_to_back_edge_s(x_m, da_m, d) < horizon:
            reason = "slot back edge"
        elif x_m < -lu and da_m > 0 and (d <= 0 or x_m < -big_l):
            reason = "behind slot"
        elif x_m > big_l and xdot_h >= 0:
            reason = "ahead of slot"
        if not reason:
            return 0.0, ""
        tau = max(cfg.return_time_s / 2.0, period)
        if d > 0 and x_m + lu > 0:
            da_cmd = math.sqrt((x_m + lu) * d / (0.75 * n))
        else:
            da_cmd = x_m / (1.5 * n * tau)
        da_cmd = min(au, max(-au, da_cmd))
        delta_a = da_cmd - da_m
        if abs(delta_a) < cfg.min_delta_a_m:
            return 0.0, ""
        return delta_v_for_delta_a_m_s(box.a_target_m, delta_a), reason

    def time_to_back_edge_s(self, x_m: float, da_m: float, d: float) -> float:
        """Time (s) until ``x(t) = x - 1.5 n da t + 0.75 n d t^2`` falls below ``-L``
        (inf if never)."""
        n = self.box.mean_motion_rad_s()
        qa, qb, qc = 0.75 * n * d, -1.5 * n * da_m, x_m + self.box.slot_tol_m
        if qc <= 0.0:
            return 0.0
        disc = qb * qb - 4.0 * qa * qc
        if disc < 0.0 or qb >= 0.0:
            return math.inf
        return (-qb - math.sqrt(disc)) / (2.0 * qa)


def burn_window_s(
    cfg: GncConfig,
    t_s: float,
    avoidance: bool,
    budget: PowerBudget | None,
    forecast: EclipseForecast | None,
) -> tuple[float, str]:
    """Longest burn (s) the power budget and the sunlit window allow at ``t_s`` (0 = none),
    with the reason a shorter window would give. Avoidance burns are not limited."""
    limit = math.inf
    if avoidance:
        return limit, ""
    if cfg.require_power_budget:
        if budget is None or t_s - budget.t_ns / 1e9 > cfg.budget_max_age_s:
            return 0.0, "no current power budget"
        if budget.soc_frac - budget.soc_floor_frac < cfg.min_soc_headroom_frac:
            return 0.0, "battery too close to its floor"
        limit = (
            budget.energy_margin_wh
            * 3600.0
            / (cfg.thruster_power_w * (1.0 + cfg.power_margin_frac))
        )
        if limit <= 0:
            return 0.0, "no energy margin"
    if cfg.avoid_eclipse:
        f = forecast
        if f is None or t_s - f.t_ns / 1e9 > cfg.forecast_max_age_s:
            return 0.0, "no current eclipse forecast"
        since = t_s - f.t_ns / 1e9
        if f.in_eclipse and since < f.next_exit_s:
            return 0.0, "in eclipse"
        entry = f.next_entry_s - since
        if not f.in_eclipse and entry <= 0.0 < entry + f.eclipse_duration_s:
            return 0.0, "in eclipse"
        if entry <= 0.0 and math.isfinite(f.orbit_period_s) and f.orbit_period_s > 0:
            entry += f.orbit_period_s
        limit = min(limit, entry - cfg.eclipse_margin_s)
    return max(0.0, limit), "sunlit window or energy too short"
