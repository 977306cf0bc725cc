"""The GNC component: orbit determination, station-keeping, burns, conjunctions and FDIR.

One component (name ``gnc``) runs at ``rate_hz`` (0.1 Hz by default) and does, when due:

* **OD** every ``od_interval_s``: a GNSS fix into the EKF (:class:`OrbitFilter`); from the
  estimate the Brouwer mean semi-major axis and the mean longitude ``M + argp`` are logged.
* **Estimates**: secular fits over the last orbit (:func:`fit_secular`) give the mean a and
  the along-track slot error ``x = a_t wrap(lambda - lambda_ref(t))`` (positive = ahead),
  where the reference moves at the calibrated mean-longitude rate of the target mean a. The
  drag decay rate ``D = -da/dt`` comes from a fit over burn-free data (up to a day).
* **Planning** once per orbit (the control box): with ``x' = -(3/2) n da`` and ``da' = -D``
  the slot error is a parabola; when the node would leave the used part of the box
  (``box_use_frac``) the planner commands ``da = sqrt((x + L_u) D / (0.75 n))`` (the parabola
  whose vertex touches the far edge), clamped to the altitude box, and converts the change to a
  tangential delta-v (``dv = v da / 2a``).
* **Burns**: the executor splits the delta-v into burns of at most ``max_burn_s`` that fit
  the power budget (:class:`~flight.messages.PowerBudget`: thruster energy plus a margin under
  ``energy_margin_wh``), the sunlit window (:class:`~flight.messages.EclipseForecast`) when
  ``avoid_eclipse``, ``min_interval_s`` apart, and only in NOMINAL mode when a
  :class:`~flight.messages.ModeStatus` is published. A burn fires in ``segment_s`` segments,
  each pointed along the predicted mid-segment velocity, through the thruster HAL; the PDU
  switches the thruster rail when ``pdu`` is set.
* **Verification / FDIR**: one orbit after each burn the achieved change of mean a (secular
  fits before and after, drag during the burn added back) is compared with the plan; a ratio
  below ``underperformance_ratio`` (or above its inverse), a FAULT/DEPLETED thruster status or
  a DeviceFaultError stops autonomy, latches the fault and emits ``thruster_fault``.
* **Conjunctions**: every ``screen_interval_s`` (and after a catalogue upload or an avoidance
  burn) the own orbit is predicted over ``screen_horizon_s`` and screened against the
  catalogue; each close approach gets a TCA, miss distance and 2-D Pc. ``Pc >= pc_threshold``
  with autonomy on plans the smallest tangential delta-v (0.005 m/s doubling) whose predicted
  Pc is below ``pc_threshold * avoid_pc_factor``; station-keeping holds until the TCA has
  passed, then brings the node back into its box (``return_time_s``).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flight.core import (
    Arg,
    CommandDef,
    CommandError,
    Component,
    Declaration,
    EventDef,
    FailureCode,
    FieldType,
    Severity,
    TlmField,
)
from flight.gnc._catalogue import Catalogue, CatalogueObject, parse_catalogue
from flight.gnc._config import GncConfig
from flight.gnc._conjunction import (
    Conjunction,
    collision_probability,
    linear_closest_approach,
    refine_tca,
    rtn_covariance_to_eci,
)
from flight.gnc._kernels import EARTH_RADIUS_M, G0_M_S2, MU_EARTH_M3_S2
from flight.gnc._mean import (
    arg_latitude_rad,
    burn_time_for_delta_v_s,
    delta_v_for_delta_a_m_s,
    mean_semi_major_axis_m,
    osculating_elements,
)
from flight.gnc._od import OdConfig, OrbitFilter
from flight.gnc._propagator import OrbitPropagator, ThrustArc, calibrate_reference_rate, fit_secular
from flight.messages import EclipseForecast, Mode, ModeStatus, PowerBudget
from hal.propulsion import ThrusterStatus
from hal.sensors import ecef_to_eci
from native.errors import ConfigError, DeviceFaultError, HalError

#: Largest distance (s) between an uploaded state vector's epoch and onboard time.
MAX_STATE_AGE_S = 7 * 86_400.0

__all__ = ["BurnRecord", "GncComponent", "catalogue_blob_name"]

_TWO_PI = 2.0 * math.pi


def catalogue_blob_name(blob_id: int) -> str:
    """Name of the NV-storage blob that ``load_catalogue(blob_id)`` reads."""
    return f"gnc_catalogue_{blob_id}.txt"


def _wrap(angle: float) -> float:
    return (angle + math.pi) % _TWO_PI - math.pi


@dataclass(slots=True)
class BurnRecord:
    """One executed burn (times in onboard seconds)."""

    kind: str
    t0_s: float
    t1_s: float
    delta_v_m_s: float  #: commanded (signed, + = along velocity), from the rocket equation
    achieved_delta_v_m_s: float | None = None
    ratio: float | None = None


@dataclass(slots=True)
class _Estimate:
    t_s: float
    a_m: float
    a_full: bool
    lam_rad: float
    inc_rad: float
    full: bool


def _decl() -> Declaration:
    f32, f64 = FieldType.F32, FieldType.F64
    return Declaration(
        commands=(
            CommandDef(
                1,
                "set_slot",
                (
                    Arg("target_altitude_km", f64, 200.0, 2000.0, "km", "target mean a - R_E"),
                    Arg("arg_lat_deg", f64, 0.0, 360.0, "deg", "slot mean arg. of latitude at t=0"),
                    Arg("slot_tolerance_km", f32, 0.1, 500.0, "km", "+- along-track box"),
                    Arg("altitude_tolerance_m", f32, 5.0, 20000.0, "m", "+- mean altitude box"),
                ),
                "set the control box (rejected if the target is > 100 km from the orbit)",
            ),
            CommandDef(2, "set_autonomy", (Arg("enable", FieldType.BOOL),), "autonomous burns"),
            CommandDef(
                3,
                "load_catalogue",
                (Arg("blob_id", FieldType.U16, 0, 9999, "", "reads gnc_catalogue_<id>.txt"),),
                "replace the catalogue with a TLE/STATE text blob from NV storage",
            ),
            CommandDef(
                4,
                "add_object",
                (
                    Arg("object_id", FieldType.U32, 1, 99_999_999),
                    Arg("epoch_s", f64, 0.0, 1e10, "s", "onboard time of the state"),
                    Arg("x_m", f64, -6e7, 6e7, "m"),
                    Arg("y_m", f64, -6e7, 6e7, "m"),
                    Arg("z_m", f64, -6e7, 6e7, "m"),
                    Arg("vx_m_s", f64, -12000.0, 12000.0, "m/s"),
                    Arg("vy_m_s", f64, -12000.0, 12000.0, "m/s"),
                    Arg("vz_m_s", f64, -12000.0, 12000.0, "m/s"),
                    Arg("sigma_m", f32, 1.0, 1e5, "m", "1-sigma position uncertainty"),
                ),
                "add one object by its ECI state (inline ephemeris)",
            ),
            CommandDef(
                5,
                "manual_burn",
                (
                    Arg("delta_v_m_s", f32, -1.0, 1.0, "m/s", "+ along velocity, - against"),
                    Arg("delay_s", f32, 0.0, 604800.0, "s"),
                ),
                "ground-commanded tangential burn",
            ),
            CommandDef(6, "clear_fault", (), "clear a latched thruster fault"),
            CommandDef(7, "clear_catalogue", (), "forget every catalogue object"),
        ),
        telemetry=(
            TlmField("od_updates", FieldType.U32, "", "GNSS fixes fused"),
            TlmField("od_sigma_m", f32, "m", "EKF RSS position sigma"),
            TlmField("mean_alt_km", f32, "km", "mean semi-major axis - R_E"),
            TlmField("altitude_error_m", f32, "m", "mean a - target"),
            TlmField("slot_error_km", f32, "km", "along-track error, + ahead"),
            TlmField("decay_m_day", f32, "m/day", "estimated mean-a decay"),
            TlmField("autonomy", FieldType.BOOL),
            TlmField("thruster_fault", FieldType.BOOL),
            TlmField("burns", FieldType.U16),
            TlmField("delta_v_m_s", f32, "m/s", "total commanded"),
            TlmField("pending_dv_m_s", f32, "m/s"),
            TlmField("catalogue_objects", FieldType.U32),
            TlmField("conjunctions_screened", FieldType.U32),
            TlmField("pc_max", f32, "", "highest Pc of the last screening"),
            TlmField("avoidance_maneuvers", FieldType.U16),
        ),
        events=(
            EventDef(
                1, "od_converged", Severity.INFO, "orbit determination converged ({updates} fixes)"
            ),
            EventDef(
                2,
                "slot_captured",
                Severity.INFO,
                "box: alt {alt_km:.3f} km, slot {lam_deg:.3f} deg",
            ),
            EventDef(3, "burn_planned", Severity.INFO, "{kind} dv {dv_m_s:.4f} m/s ({reason})"),
            EventDef(
                4,
                "burn_started",
                Severity.INFO,
                "{kind} burn {duration_s:.0f} s, dv {dv_m_s:.4f} m/s",
            ),
            EventDef(5, "burn_done", Severity.INFO, "{kind} burn done, dv {dv_m_s:.4f} m/s"),
            EventDef(6, "burn_deferred", Severity.LOW, "{kind} burn deferred: {reason}"),
            EventDef(7, "burn_verified", Severity.INFO, "burn achieved/planned = {ratio:.3f}"),
            EventDef(
                8, "thruster_fault", Severity.HIGH, "thruster fault: {reason}; autonomy stopped"
            ),
            EventDef(9, "autonomy_changed", Severity.MEDIUM, "autonomy {state}: {reason}"),
            EventDef(
                10, "catalogue_loaded", Severity.INFO, "catalogue {source}: {objects} objects"
            ),
            EventDef(11, "catalogue_rejected", Severity.MEDIUM, "catalogue rejected: {reason}"),
            EventDef(
                12,
                "conjunction",
                Severity.LOW,
                "{name}: TCA in {dt_s:.0f} s, miss {miss_m:.0f} m, Pc {pc:.2e}",
            ),
            EventDef(
                13,
                "avoidance_planned",
                Severity.HIGH,
                "avoid {name}: dv {dv_m_s:.4f} m/s, Pc {pc_before:.2e} -> {pc_after:.2e}",
            ),
            EventDef(14, "avoidance_impossible", Severity.HIGH, "cannot avoid {name}: {reason}"),
            EventDef(15, "back_in_slot", Severity.INFO, "back in the box {dt_s:.0f} s after TCA"),
            EventDef(
                16,
                "slot_set",
                Severity.INFO,
                "box set: alt {alt_km:.3f} km, slot {lam_deg:.3f} deg",
            ),
            EventDef(17, "od_reset", Severity.LOW, "orbit determination re-initialised"),
            EventDef(
                18,
                "box_exit",
                Severity.MEDIUM,
                "out of box: slot {slot_km:.2f} km, alt {alt_m:.0f} m",
            ),
        ),
    )


class GncComponent(Component):
    """Station-keeping and collision avoidance (see the module docstring)."""

    DECLARATION = _decl()

    def __init__(
        self,
        cfg: GncConfig,
        gnss: Any,
        thruster: Any,
        pdu: Any = None,
        storage: Any = None,
    ) -> None:
        super().__init__("gnc", cfg.component_id)
        self.cfg = cfg
        self.gnss = gnss
        self.thruster = thruster
        self.pdu = pdu
        self.storage = storage
        self.prop = OrbitPropagator()
        self.catalogue = Catalogue()
        self._reset_state()
        if cfg.catalogue:
            self.catalogue = self._parse(Path(cfg.catalogue).read_text(), cfg.catalogue)

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        cfg = self.cfg
        self.filter = OrbitFilter(
            OdConfig(cfg.gnss_sigma_pos_m, cfg.gnss_sigma_vel_m_s, cfg.od_sigma_accel_m_s2)
        )
        self.autonomy = cfg.autonomy
        self.fault = ""
        self.a_target_m: float | None = (
            None
            if cfg.target_altitude_km is None
            else EARTH_RADIUS_M + cfg.target_altitude_km * 1e3
        )
        self.lam0_rad: float | None = (
            None if cfg.slot_arg_lat_deg is None else math.radians(cfg.slot_arg_lat_deg)
        )
        self.lam_rate: float | None = None
        self.slot_tol_m = cfg.slot_tolerance_km * 1e3
        self.alt_tol_m = cfg.altitude_tolerance_m
        self._buf: deque[tuple[float, float, float, float, float]] = deque(maxlen=512)
        self._decay_hist: deque[tuple[float, float, float]] = deque(maxlen=2048)
        self._lam_prev: float | None = None
        self._lam_unw = 0.0
        self._utc_offset_ns: int | None = None
        self.decay_m_s: float | None = (
            cfg.decay_prior_m_per_day / 86400.0 if cfg.decay_prior_m_per_day > 0 else None
        )
        self._next_od = 0.0
        self._next_plan = 0.0
        self._next_screen = 0.0
        self._next_series = 0.0
        self._converged = False
        self._od_resets_seen = 0
        # executor
        self._queue: dict[str, Any] | None = None
        self._chunk: dict[str, Any] | None = None
        self._verify_pending: dict[str, Any] | None = None
        self._arcs: list[ThrustArc] = []
        self._last_burn_end: float | None = None
        self._propellant_kg: float | None = None
        self._deferred_reason = ""
        self.burns: list[BurnRecord] = []
        self.delta_v_m_s = 0.0
        self.propellant_used_kg = 0.0
        # conjunctions
        self.conjunctions: dict[tuple[str, int], Conjunction] = {}
        self.screened = 0
        self.screenings = 0
        self.pc_max_last = 0.0
        self.avoidances: list[dict[str, Any]] = []
        self._avoid: dict[str, Any] | None = None
        self._hold_until = -math.inf
        self._returning: dict[str, Any] | None = None
        # statistics
        self.slot_err_max_m = 0.0
        self.alt_err_max_m = 0.0
        self._in_box = True
        self.series: dict[str, list[float]] = {
            "t_s": [],
            "slot_error_km": [],
            "altitude_error_m": [],
        }
        self.dv_analytic_m_s = 0.0
        self._analytic_t: float | None = None
        self._first_od_t: float | None = None
        self.last_estimate: _Estimate | None = None

    def on_init(self) -> None:
        """Nothing to allocate beyond the constructor; state survives restarts on purpose."""

    # ------------------------------------------------------------------ helpers
    def _parse(self, text: str, source: str) -> Catalogue:
        cfg = self.cfg
        return parse_catalogue(
            text,
            source=source,
            max_objects=cfg.max_catalogue_objects,
            tle_sigma_rtn_m=tuple(cfg.tle_sigma_rtn_m),  # type: ignore[arg-type]
            state_sigma_rtn_m=tuple(cfg.state_sigma_rtn_m),  # type: ignore[arg-type]
        )

    def load_catalogue_text(self, text: str, source: str = "inline") -> int:
        """Replace the catalogue with ``text`` (ConfigError and no change when malformed)."""
        try:
            cat = self._parse(text, source)
        except ConfigError as exc:
            self.emit("catalogue_rejected", reason=str(exc))
            raise
        self.catalogue = cat
        self._next_screen = 0.0  # screen at the next step
        self.emit("catalogue_loaded", source=source, objects=len(cat))
        return len(cat)

    def _period(self) -> float:
        a = self.a_target_m or (self.last_estimate.a_m if self.last_estimate else 6.9e6)
        return _TWO_PI * math.sqrt(a**3 / MU_EARTH_M3_S2)

    def _mean_motion(self) -> float:
        a = self.a_target_m or 6.9e6
        return math.sqrt(MU_EARTH_M3_S2 / a**3)

    def _drag_accel(self) -> float:
        """Tangential drag acceleration for the EKF (m/s^2, negative): a_T = n adot / 2."""
        return -0.5 * self._mean_motion() * self.decay_m_s if self.decay_m_s else 0.0

    def _mode_ok(self) -> bool:
        ms = self.bus.latest(ModeStatus)
        return ms is None or ms.mode == Mode.NOMINAL

    def _clean_after(self) -> float:
        return -math.inf if self._last_burn_end is None else self._last_burn_end + self.cfg.settle_s

    # ------------------------------------------------------------------ lifecycle
    def step(self, t_ns: int) -> None:
        """One GNC cycle at onboard time ``t_ns``."""
        t = t_ns / 1e9
        self._run_executor(t)
        if t >= self._next_od - 1e-6:
            self._next_od = max(
                self._next_od + self.cfg.od_interval_s, t + 0.5 * self.cfg.od_interval_s
            )
            self._od_step(t, t_ns)
        if self._verify_pending is not None and t >= self._verify_pending["at"]:
            self._verify(t)
        if t >= self._next_plan - 1e-6:
            self._next_plan = t + (self.cfg.plan_interval_s or self._period())
            self._plan(t)
        if (
            len(self.catalogue)
            and t >= self._next_screen - 1e-6
            and self._utc_offset_ns is not None
            and self.filter.updates >= self.cfg.od_min_updates
        ):
            self._next_screen = t + self.cfg.screen_interval_s
            self._screen(t)
        if t >= self._next_series - 1e-6:
            self._next_series = t + self.cfg.series_interval_s
            self._record(t)
        self._update_hk()

    # ------------------------------------------------------------------ OD
    def _od_step(self, t: float, t_ns: int) -> None:
        try:
            rd = self.gnss.read()
        except HalError:
            return
        if not rd.valid:
            return
        self._utc_offset_ns = rd.utc_ns - t_ns
        r, v = ecef_to_eci(rd.position_ecef_m, rd.velocity_ecef_m_s, rd.utc_ns)
        f = self.filter
        self._arcs = [a for a in self._arcs if a.t1_s > t - 86400.0]
        ok = f.update(t, np.concatenate([r, v]), self._drag_accel(), self._arcs)
        if f.resets > self._od_resets_seen:
            self._od_resets_seen = f.resets
            self.emit("od_reset")
        if not ok or f.updates < self.cfg.od_min_updates:
            return
        if not self._converged:
            self._converged = True
            self._first_od_t = t
            self.emit("od_converged", updates=f.updates)
        x = f.x
        el = osculating_elements(x)
        a_mean = float(mean_semi_major_axis_m(x))
        u = float(arg_latitude_rad(x))
        lam = float(el[4] + el[5])
        if self._lam_prev is None:
            self._lam_unw = lam
        else:
            self._lam_unw += _wrap(lam - self._lam_prev)
        self._lam_prev = lam
        self._buf.append((t, a_mean, self._lam_unw, u, float(el[2])))
        if t >= self._clean_after() and (
            not self._decay_hist or t - self._decay_hist[-1][0] >= 299.0
        ):
            self._decay_hist.append((t, a_mean, u))

    def _window(self, t_lo: float) -> NDArray[np.float64] | None:
        rows = [s for s in self._buf if s[0] >= t_lo]
        return np.array(rows) if len(rows) >= 8 else None

    def _fit_a(self, t_lo: float, t_hi: float, t_eval: float) -> tuple[float, bool] | None:
        """Secular mean a over [t_lo, t_hi] evaluated at t_eval: (a, full orbit?)."""
        rows = [s for s in self._buf if t_lo <= s[0] <= t_hi]
        if len(rows) < 8:
            return None
        w = np.array(rows)
        span = w[-1, 0] - w[0, 0]
        period = self._period()
        if span < 0.3 * period:
            return None
        full = span >= 0.9 * period
        a, _ = fit_secular(w[:, 0], w[:, 1], w[:, 3], t_eval, harmonics=2 if full else 0)
        return a, full

    def estimate(self, t: float) -> _Estimate | None:
        """Orbit-averaged mean a and mean longitude at ``t`` (None before one orbit of OD)."""
        period = self._period()
        w = self._window(t - period)
        if w is None:
            return None
        full = (w[-1, 0] - w[0, 0]) >= 0.9 * period
        if not full:
            return None
        lam, _ = fit_secular(w[:, 0], w[:, 2], w[:, 3], t, harmonics=2)
        fa = self._fit_a(max(t - period, self._clean_after()), t, t)
        if fa is None:
            a, _ = fit_secular(w[:, 0], w[:, 1], w[:, 3], t, harmonics=2)
            a_full = False
        else:
            a, a_full = fa
        est = _Estimate(t, a, a_full, lam, float(np.mean(w[:, 4])), True)
        self.last_estimate = est
        if self.a_target_m is None or self.lam0_rad is None or self.lam_rate is None:
            self._capture(est)
        return est

    def _capture(self, est: _Estimate) -> None:
        if self.a_target_m is None:
            self.a_target_m = est.a_m
        self.lam_rate = calibrate_reference_rate(self.a_target_m, est.inc_rad, self.prop)
        if self.lam0_rad is None:
            self.lam0_rad = _wrap(est.lam_rad - self.lam_rate * est.t_s) % _TWO_PI
        self.emit(
            "slot_captured",
            alt_km=(self.a_target_m - EARTH_RADIUS_M) / 1e3,
            lam_deg=math.degrees(self.lam0_rad),
        )

    def errors(self, est: _Estimate) -> tuple[float, float]:
        """(slot error m, + ahead; altitude error m) of an estimate against the box."""
        assert (
            self.a_target_m is not None and self.lam_rate is not None and self.lam0_rad is not None
        )
        x = self.a_target_m * _wrap(est.lam_rad - self.lam0_rad - self.lam_rate * est.t_s)
        return x, est.a_m - self.a_target_m

    def _update_decay(self, t: float) -> None:
        rows = [
            s
            for s in self._decay_hist
            if s[0] >= max(t - self.cfg.decay_window_s, self._clean_after())
        ]
        if len(rows) < 12:
            return
        w = np.array(rows)
        if w[-1, 0] - w[0, 0] < 0.95 * self._period():
            return
        _, slope = fit_secular(w[:, 0], w[:, 1], w[:, 2], t, harmonics=2)
        first = self.decay_m_s is None
        self.decay_m_s = max(0.0, -slope)
        if first and self._first_od_t is not None:
            self._analytic_t = self._first_od_t  # back-fill the analytic integral

    # ------------------------------------------------------------------ planning
    def _plan(self, t: float) -> None:
        est = self.estimate(t)
        if est is None:
            return
        self._update_decay(t)
        self._track_box(t, est)
        if self._avoid is not None and t > self._avoid["tca"] + 60.0:
            self._returning = {
                "tca": self._avoid["tca"],
                "deadline": self._avoid["tca"] + self.cfg.return_time_s,
            }
            self._avoid = None
        if not self.autonomy or self.fault or t < self._hold_until or not self._mode_ok():
            return
        if self._queue is not None or self._chunk is not None or self._verify_pending is not None:
            return
        if self.decay_m_s is None or not est.a_full:
            return
        if (
            self._last_burn_end is not None
            and t < self._last_burn_end + self.cfg.settle_s + self._period()
        ):
            return
        x, da = self.errors(est)
        dv, reason = self.control_law(x, da, self.decay_m_s)
        if dv != 0.0:
            self._request(t, dv, "stationkeeping", reason)

    def control_law(self, x_m: float, da_m: float, decay_m_s: float) -> tuple[float, str]:
        """Delta-v (m/s, signed; 0 = no burn) and the reason, for slot error ``x_m`` (+ ahead),
        mean-a error ``da_m`` and decay rate ``decay_m_s`` (>= 0)."""
        assert self.a_target_m is not None
        cfg = self.cfg
        n = self._mean_motion()
        big_l, big_a = self.slot_tol_m, self.alt_tol_m
        lu, au = cfg.box_use_frac * big_l, cfg.box_use_frac * big_a
        d = decay_m_s
        horizon = (cfg.plan_interval_s or self._period()) + self._period()
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
        elif d > 0 and da_m > 0 and self._time_to_back_edge(x_m, da_m, d, n) < horizon:
            reason = "slot back edge"
        elif x_m < -lu and da_m > 0 and (d <= 0 or x_m < -big_l):
            reason = "behind slot"
        elif x_m > big_l and xdot_h >= 0:
            reason = "ahead of slot"
        if not reason:
            return 0.0, ""
        tau = max(self.cfg.return_time_s / 2.0, self._period())
        if d > 0 and x_m + lu > 0:
            da_cmd = math.sqrt((x_m + lu) * d / (0.75 * n))
        else:
            da_cmd = x_m / (1.5 * n * tau)
        da_cmd = min(au, max(-au, da_cmd))
        delta_a = da_cmd - da_m
        if abs(delta_a) < cfg.min_delta_a_m:
            return 0.0, ""
        return delta_v_for_delta_a_m_s(self.a_target_m, delta_a), reason

    def _time_to_back_edge(self, x_m: float, da_m: float, d: float, n: float) -> float:
        """Time (s) until ``x(t) = x - 1.5 n da t + 0.75 n d t^2`` falls below ``-L`` (inf if never)."""
        qa, qb, qc = 0.75 * n * d, -1.5 * n * da_m, x_m + self.slot_tol_m
        if qc <= 0.0:
            return 0.0
        disc = qb * qb - 4.0 * qa * qc
        if disc < 0.0 or qb >= 0.0:
            return math.inf
        return (-qb - math.sqrt(disc)) / (2.0 * qa)

    def _request(
        self, t: float, dv: float, kind: str, reason: str, not_before: float | None = None
    ) -> None:
        self._queue = {
            "dv_left": dv,
            "planned": dv,
            "kind": kind,
            "not_before": t if not_before is None else not_before,
        }
        self._deferred_reason = ""
        self.emit("burn_planned", kind=kind, dv_m_s=dv, reason=reason)

    # ------------------------------------------------------------------ executor
    def _read_thruster(self) -> Any:
        rd = self.thruster.read()
        self._propellant_kg = float(rd.propellant_kg)
        return rd

    def _rail(self, on: bool) -> None:
        if self.pdu is not None and self.cfg.pdu:
            self.pdu.set_rail(self.cfg.thruster_rail, on)

    def _defer(self, kind: str, reason: str) -> None:
        if reason != self._deferred_reason:
            self._deferred_reason = reason
            self.emit("burn_deferred", kind=kind, reason=reason)

    def _window_limit(self, t: float, kind: str) -> tuple[float, str]:
        """Longest burn (s) the power budget and the sunlit window allow now (0 = none)."""
        cfg = self.cfg
        limit = math.inf
        if cfg.require_power_budget and kind != "avoidance":
            b = self.bus.latest(PowerBudget)
            if b is None or t - b.t_ns / 1e9 > cfg.budget_max_age_s:
                return 0.0, "no current power budget"
            if b.soc_frac - b.soc_floor_frac < cfg.min_soc_headroom_frac:
                return 0.0, "battery too close to its floor"
            limit = (
                b.energy_margin_wh * 3600.0 / (cfg.thruster_power_w * (1.0 + cfg.power_margin_frac))
            )
            if limit <= 0:
                return 0.0, "no energy margin"
        if cfg.avoid_eclipse and kind != "avoidance":
            f = self.bus.latest(EclipseForecast)
            if f is None or t - f.t_ns / 1e9 > cfg.forecast_max_age_s:
                return 0.0, "no current eclipse forecast"
            since = t - f.t_ns / 1e9
            if f.in_eclipse and since < f.next_exit_s:
                return 0.0, "in eclipse"
            entry = f.next_entry_s - since
            if not f.in_eclipse and entry <= 0.0 < entry + f.eclipse_duration_s:
                return 0.0, "in eclipse"
            if entry <= 0.0 and math.isfinite(f.orbit_period_s) and f.orbit_period_s > 0:
                entry += f.orbit_period_s
            limit = min(limit, entry - cfg.eclipse_margin_s)
        return max(0.0, limit), "sunlit window or energy too short"

    def _run_executor(self, t: float) -> None:
        if self._chunk is not None:
            self._continue_chunk(t)
            return
        q = self._queue
        if q is None or t < q["not_before"]:
            return
        kind = q["kind"]
        if self.fault:
            self._queue = None
            return
        if kind != "avoidance":
            if self._verify_pending is not None:
                return
            if (
                self._last_burn_end is not None
                and t < self._last_burn_end + self.cfg.min_interval_s
            ):
                return
            if not self._mode_ok():
                self._defer(kind, "mode is not NOMINAL")
                return
        limit, why = self._window_limit(t, kind)
        try:
            self._rail(True)
            rd = self._read_thruster()
        except HalError as exc:
            self._rail_off_quiet()
            self._thruster_fault(f"thruster unavailable: {exc}")
            return
        if rd.status in (ThrusterStatus.FAULT, ThrusterStatus.DEPLETED):
            self._thruster_fault(f"status {rd.status.name}")
            return
        if rd.status is ThrusterStatus.FIRING:
            return  # a segment of an interrupted burn is still firing: start when it ends
        if self.filter.updates < self.cfg.od_min_updates:
            self._defer(kind, "orbit determination not converged")
            return
        cfg = self.cfg
        mass = cfg.dry_mass_kg + float(rd.propellant_kg)
        isp = float(rd.isp_s) if rd.isp_s > 0 else cfg.isp_s
        need = burn_time_for_delta_v_s(mass, q["dv_left"], cfg.thrust_n, isp)
        dur = min(need, cfg.max_burn_s, limit)
        if dur < min(cfg.min_burn_s, need):
            self._rail_off_quiet()
            self._defer(kind, why)
            return
        mdot = cfg.thrust_n / (isp * G0_M_S2)
        dv = isp * G0_M_S2 * math.log(mass / (mass - mdot * dur))
        sign = 1.0 if q["dv_left"] > 0 else -1.0
        before = None
        if self.cfg.verify:
            before = self._fit_a(max(t - self._period(), self._clean_after()), t, t)
        self._chunk = {
            "kind": kind,
            "t0": t,
            "end": t + dur,
            "sign": sign,
            "dv": sign * dv,
            "mass": mass,
            "prop0": float(rd.propellant_kg),
            "before": before,
        }
        q["dv_left"] -= sign * dv
        if abs(q["dv_left"]) < 1e-5 or (q["dv_left"] > 0) != (sign > 0):
            self._queue = None
        self._deferred_reason = ""
        self.emit("burn_started", kind=kind, duration_s=dur, dv_m_s=sign * dv)
        self._fire_segment(t)

    def _rail_off_quiet(self) -> None:
        with contextlib.suppress(HalError):
            self._rail(False)

    def _fire_segment(self, t: float) -> None:
        ch = self._chunk
        assert ch is not None
        dur = min(self.cfg.segment_s, ch["end"] - t)
        f = self.filter
        s = self.prop.advance(f.x, t + 0.5 * dur - f.t_s, self._drag_accel(), self._arcs_rel(f.t_s))
        d = ch["sign"] * s[3:6] / np.linalg.norm(s[3:6])
        try:
            self.thruster.fire(tuple(float(c) for c in d), dur)
        except DeviceFaultError as exc:
            self._thruster_fault(str(exc))
            return
        except HalError as exc:
            self._thruster_fault(f"fire rejected: {exc}")
            return
        accel = self.cfg.thrust_n / ch["mass"]
        self._arcs.append(ThrustArc(t, t + dur, accel, (float(d[0]), float(d[1]), float(d[2]))))

    def _arcs_rel(self, t0: float) -> list[ThrustArc]:
        return [ThrustArc(a.t0_s - t0, a.t1_s - t0, a.accel_m_s2, a.direction) for a in self._arcs]

    def _continue_chunk(self, t: float) -> None:
        ch = self._chunk
        assert ch is not None
        try:
            rd = self._read_thruster()
        except HalError as exc:
            self._thruster_fault(f"thruster unavailable during burn: {exc}")
            return
        if rd.status in (ThrusterStatus.FAULT, ThrusterStatus.DEPLETED):
            self._thruster_fault(f"status {rd.status.name} during burn")
            return
        if rd.status == ThrusterStatus.FIRING:
            return
        if t >= ch["end"] - 1e-6 or (ch["kind"] != "avoidance" and not self._mode_ok()):
            self._finish_chunk(t, float(rd.propellant_kg))
            return
        self._fire_segment(t)

    def _finish_chunk(self, t: float, propellant_kg: float) -> None:
        ch = self._chunk
        assert ch is not None
        self._chunk = None
        self._rail_off_quiet()
        frac = min(1.0, (t - ch["t0"]) / max(1e-9, ch["end"] - ch["t0"]))
        dv = ch["dv"] * frac
        rec = BurnRecord(ch["kind"], ch["t0"], t, dv)
        self.burns.append(rec)
        self.delta_v_m_s += abs(dv)
        self.propellant_used_kg += max(0.0, ch["prop0"] - propellant_kg)
        self._last_burn_end = t
        self.emit("burn_done", kind=ch["kind"], dv_m_s=dv)
        if self.cfg.verify:
            self._verify_pending = {
                "record": rec,
                "before": ch["before"],
                "at": t + self.cfg.settle_s + self._period(),
            }
        if ch["kind"] == "avoidance":
            self._next_screen = min(self._next_screen, t + self.cfg.settle_s)

    def _verify(self, t: float) -> None:
        pending = self._verify_pending
        assert pending is not None
        self._verify_pending = None
        rec: BurnRecord = pending["record"]
        after = self._fit_a(rec.t1_s + self.cfg.settle_s, t, rec.t1_s)
        before = pending["before"]
        if after is None or before is None or self.a_target_m is None:
            return
        decay = self.decay_m_s or 0.0
        achieved_da = after[0] - before[0] + decay * (rec.t1_s - rec.t0_s)
        a = self.a_target_m
        achieved = delta_v_for_delta_a_m_s(a, achieved_da)
        planned_da = rec.delta_v_m_s * 2.0 * a / math.sqrt(MU_EARTH_M3_S2 / a)
        rec.achieved_delta_v_m_s = achieved
        if abs(planned_da) < self.cfg.verify_min_delta_a_m:
            return
        ratio = achieved_da / planned_da
        rec.ratio = ratio
        self.emit("burn_verified", ratio=ratio)
        lo = self.cfg.underperformance_ratio
        if ratio < lo or ratio > 1.0 / lo:
            self._thruster_fault(
                f"achieved/planned delta-v {ratio:.2f} outside [{lo:.2f}, {1 / lo:.2f}]"
            )

    def _thruster_fault(self, reason: str) -> None:
        """FDIR: latch the fault, cancel burns, stop autonomy, tell the ground."""
        self.fault = reason
        self._queue = None
        if self._chunk is not None:
            ch = self._chunk
            self._chunk = None
            self.burns.append(BurnRecord(ch["kind"], ch["t0"], ch["t0"], 0.0))
        self._rail_off_quiet()
        self.emit("thruster_fault", reason=reason)
        if self.autonomy:
            self.autonomy = False
            self.emit("autonomy_changed", state="disabled", reason="thruster fault")

    # ------------------------------------------------------------------ conjunctions
    def _own_cov(self, state: NDArray[np.float64], dt_s: float) -> NDArray[np.float64]:
        cfg = self.cfg
        n = self._mean_motion()
        grow = cfg.drag_uncertainty_frac * 0.75 * n * (self.decay_m_s or 0.0) * dt_s * dt_s
        sr, st, sn = cfg.own_sigma_rtn_m
        cov = rtn_covariance_to_eci(state, (sr, math.hypot(st, grow), sn))
        return cov + self.filter.p[0:3, 0:3]

    def _screen(self, t: float) -> list[Conjunction]:
        cfg = self.cfg
        f = self.filter
        base = f.t_s
        step = cfg.screen_step_s
        rel = np.arange(0.0, cfg.screen_horizon_s + step, step)
        own = self.prop.trajectory(f.x, rel, self._drag_accel())
        assert self._utc_offset_ns is not None
        utc = np.round((base + rel) * 1e9).astype(np.int64) + self._utc_offset_ns
        objs = self.catalogue.states(utc)
        self.screenings += 1
        self.screened += len(self.catalogue)
        dr = objs[:, :-1, 0:3] - own[None, :-1, 0:3]
        dv = objs[:, :-1, 3:6] - own[None, :-1, 3:6]
        d, tau = linear_closest_approach(dr, dv, step)
        d = np.where(np.isnan(d), np.inf, d)
        found: list[Conjunction] = []
        self.pc_max_last = 0.0
        for i, obj in enumerate(self.catalogue.objects):
            close = np.flatnonzero(d[i] < cfg.screen_distance_m)
            if close.size == 0:
                continue
            # one event per contiguous run of close intervals
            runs = np.split(close, np.flatnonzero(np.diff(close) > 1) + 1)
            for run in runs:
                k = int(run[np.argmin(d[i, run])])
                conj = self._assess(t, obj, own[k], objs[i, k], base + rel[k], float(tau[i, k]))
                if conj is None:
                    continue
                found.append(conj)
        for conj in found:
            self.conjunctions[(conj.name, round(conj.tca_s / 600.0))] = conj
            self.pc_max_last = max(self.pc_max_last, conj.pc)
            self.emit(
                "conjunction", name=conj.name, dt_s=conj.tca_s - t, miss_m=conj.miss_m, pc=conj.pc
            )
            av = self._avoid
            if av is not None and av["name"] == conj.name and abs(av["tca"] - conj.tca_s) < 600.0:
                if self._last_burn_end is not None and self._last_burn_end >= av["t_plan"]:
                    av["pc_after"] = conj.pc
                    av["miss_after_m"] = conj.miss_m
                if av.get("pc_after") is None or conj.pc < cfg.pc_threshold:
                    continue
            if conj.pc >= cfg.pc_threshold:
                self._plan_avoidance(t, conj, base)
        return found

    def _assess(
        self,
        t: float,
        obj: CatalogueObject,
        own_s: NDArray[np.float64],
        obj_s: NDArray[np.float64],
        t_sample: float,
        tau0: float,
    ) -> Conjunction | None:
        tau, a, b = refine_tca(own_s, obj_s, tau0, self.prop)
        tca = t_sample + tau
        if tca < t:
            return None
        miss = b[0:3] - a[0:3]
        relv = b[3:6] - a[3:6]
        cov = self._own_cov(a, tca - t) + rtn_covariance_to_eci(b, obj.sigma_rtn_m)
        pc = collision_probability(miss, relv, cov, self.cfg.hard_body_radius_m)
        r_hat = a[0:3] / np.linalg.norm(a[0:3])
        return Conjunction(
            obj.name,
            tca,
            float(np.linalg.norm(miss)),
            float(np.linalg.norm(relv)),
            pc,
            float(miss @ r_hat),
        )

    def predict_pc(
        self, t: float, conj: Conjunction, obj_at_tca: NDArray[np.float64], dv: float, t_burn: float
    ) -> tuple[float, float]:
        """(Pc, miss m) at the conjunction if a tangential ``dv`` (m/s) is applied at ``t_burn``."""
        f = self.filter
        t_eval = conj.tca_s - 120.0
        impulses = []
        if dv != 0.0:
            s_b = self.prop.advance(f.x, t_burn - f.t_s, self._drag_accel(), self._arcs_rel(f.t_s))
            impulses.append((t_burn - f.t_s, dv * s_b[3:6] / np.linalg.norm(s_b[3:6])))
        own0 = self.prop.trajectory(f.x, np.array([t_eval - f.t_s]), self._drag_accel(), impulses)[
            0
        ]
        obj0 = self.prop.advance(obj_at_tca, -120.0)
        rel = np.arange(0.0, 241.0, 20.0)
        own_tr = self.prop.trajectory(own0, rel, self._drag_accel())
        obj_tr = self.prop.trajectory(obj0, rel)
        dr = obj_tr[:-1, 0:3] - own_tr[:-1, 0:3]
        dvv = obj_tr[:-1, 3:6] - own_tr[:-1, 3:6]
        dist, tau = linear_closest_approach(dr, dvv, 20.0)
        k = int(np.argmin(dist))
        _, a, b = refine_tca(own_tr[k], obj_tr[k], float(tau[k]), self.prop)
        miss = b[0:3] - a[0:3]
        cov = self._own_cov(a, conj.tca_s - t)
        obj = next((o for o in self.catalogue.objects if o.name == conj.name), None)
        s_r, s_t, s_n = obj.sigma_rtn_m if obj is not None else self.cfg.state_sigma_rtn_m
        cov = cov + rtn_covariance_to_eci(b, (s_r, s_t, s_n))
        pc = collision_probability(miss, b[3:6] - a[3:6], cov, self.cfg.hard_body_radius_m)
        return pc, float(np.linalg.norm(miss))

    def _plan_avoidance(self, t: float, conj: Conjunction, base: float) -> None:
        cfg = self.cfg
        if not self.autonomy or self.fault:
            self.emit(
                "avoidance_impossible", name=conj.name, reason="autonomy disabled or thruster fault"
            )
            return
        if conj.tca_s - t < cfg.min_avoid_lead_s:
            self.emit("avoidance_impossible", name=conj.name, reason="TCA too close")
            return
        if self._chunk is not None and self._chunk["kind"] == "avoidance":
            return
        # Object state at TCA (propagated from its catalogue entry).
        assert self._utc_offset_ns is not None
        utc = np.array([round(conj.tca_s * 1e9) + self._utc_offset_ns], dtype=np.int64)
        obj_at = self.catalogue.states(utc)
        idx = next(i for i, o in enumerate(self.catalogue.objects) if o.name == conj.name)
        obj_state = obj_at[idx, 0]
        mass = cfg.dry_mass_kg + (self._propellant_kg or 0.0)
        t_start = t + 2.0 / cfg.rate_hz
        best: tuple[float, float, float] | None = None
        mag = 0.005
        while mag <= cfg.max_avoid_delta_v_m_s + 1e-12 and best is None:
            for sign in (1.0, -1.0):
                dv = sign * mag
                dur = burn_time_for_delta_v_s(mass, dv, cfg.thrust_n, cfg.isp_s)
                t_mid = t_start + 0.5 * dur
                if t_mid + 0.5 * dur > conj.tca_s - 60.0:
                    continue
                pc, miss = self.predict_pc(t, conj, obj_state, dv, t_mid)
                if pc < cfg.pc_threshold * cfg.avoid_pc_factor and (best is None or pc < best[1]):
                    best = (dv, pc, miss)
            mag *= 2.0
        if best is None:
            self.emit(
                "avoidance_impossible", name=conj.name, reason="no delta-v within the limit works"
            )
            return
        dv, pc_pred, _ = best
        if self._chunk is not None:
            self._finish_chunk(t, self._propellant_kg or 0.0)
        self._verify_pending = None
        self._request(t, dv, "avoidance", f"Pc {conj.pc:.1e} with {conj.name}")
        self._hold_until = conj.tca_s + 600.0
        self._avoid = {
            "name": conj.name,
            "tca": conj.tca_s,
            "pc_before": conj.pc,
            "miss_before_m": conj.miss_m,
            "pc_predicted": pc_pred,
            "pc_after": None,
            "miss_after_m": None,
            "dv": dv,
            "t_plan": t,
        }
        self.avoidances.append(self._avoid)
        self.emit(
            "avoidance_planned", name=conj.name, dv_m_s=dv, pc_before=conj.pc, pc_after=pc_pred
        )

    # ------------------------------------------------------------------ statistics
    def _track_box(self, t: float, est: _Estimate) -> tuple[float, float] | None:
        if self.a_target_m is None or self.lam_rate is None:
            return None
        x, da = self.errors(est)
        self.hk.slot_error_km = x / 1e3
        self.hk.altitude_error_m = da
        in_box = abs(x) <= self.slot_tol_m and abs(da) <= self.alt_tol_m
        if est.a_full and self._avoid is None and self._returning is None:
            self.slot_err_max_m = max(self.slot_err_max_m, abs(x))
            self.alt_err_max_m = max(self.alt_err_max_m, abs(da))
            if not in_box and self._in_box:
                self.emit("box_exit", slot_km=x / 1e3, alt_m=da)
            self._in_box = in_box
        ret = self._returning
        if ret is not None and in_box and est.a_full:
            ret_s = t - ret["tca"]
            if self.avoidances:
                self.avoidances[-1]["return_s"] = ret_s
            self.emit("back_in_slot", dt_s=ret_s)
            self._returning = None
        return x, da

    def _record(self, t: float) -> None:
        est = self.estimate(t)
        if self.decay_m_s is not None and self._analytic_t is not None:
            # Circular-orbit drag make-up: a_D = rho v^2 / (2B) = |da/dt| n / 2 (REFERENCE.md).
            self.dv_analytic_m_s += (
                0.5 * self._mean_motion() * self.decay_m_s * (t - self._analytic_t)
            )
            self._analytic_t = t
        elif self.decay_m_s is not None:
            self._analytic_t = t
        if est is None:
            return
        xd = self._track_box(t, est)
        if xd is None:
            return
        self.series["t_s"].append(t)
        self.series["slot_error_km"].append(xd[0] / 1e3)
        self.series["altitude_error_m"].append(xd[1])

    def _update_hk(self) -> None:
        hk = self.hk
        f = self.filter
        hk.od_updates = f.updates
        hk.od_sigma_m = f.position_sigma_m if f.initialised else 0.0
        if self.last_estimate is not None:
            hk.mean_alt_km = (self.last_estimate.a_m - EARTH_RADIUS_M) / 1e3
        hk.decay_m_day = (self.decay_m_s or 0.0) * 86400.0
        hk.autonomy = self.autonomy
        hk.thruster_fault = bool(self.fault)
        hk.burns = min(len(self.burns), 65535)
        hk.delta_v_m_s = self.delta_v_m_s
        hk.pending_dv_m_s = self._queue["dv_left"] if self._queue else 0.0
        hk.catalogue_objects = len(self.catalogue)
        hk.conjunctions_screened = min(self.screened, 2**32 - 1)
        hk.pc_max = self.pc_max_last
        hk.avoidance_maneuvers = len(self.avoidances)

    # ------------------------------------------------------------------ commands
    def cmd_set_slot(
        self,
        target_altitude_km: float,
        arg_lat_deg: float,
        slot_tolerance_km: float,
        altitude_tolerance_m: float,
    ) -> None:
        """Set the control box; the reference is recalibrated for the new target."""
        if arg_lat_deg >= 360.0:
            raise CommandError(
                "gnc.set_slot: arg_lat_deg must be < 360", FailureCode.ILLEGAL_ARGUMENT
            )
        a_new = EARTH_RADIUS_M + target_altitude_km * 1e3
        est = self.last_estimate
        if est is not None and abs(a_new - est.a_m) > 100e3:
            raise CommandError(
                f"gnc.set_slot: target {target_altitude_km:.1f} km is "
                f"{abs(a_new - est.a_m) / 1e3:.0f} km from the orbit (limit 100 km)",
                FailureCode.ILLEGAL_ARGUMENT,
            )
        inc = est.inc_rad if est is not None else math.radians(53.0)
        rate = calibrate_reference_rate(a_new, inc, self.prop)
        self.a_target_m = a_new
        self.lam_rate = rate
        self.lam0_rad = math.radians(arg_lat_deg)
        self.slot_tol_m = slot_tolerance_km * 1e3
        self.alt_tol_m = altitude_tolerance_m
        self._in_box = True
        self.emit("slot_set", alt_km=target_altitude_km, lam_deg=arg_lat_deg)

    def cmd_set_autonomy(self, enable: bool) -> None:
        """Enable or disable autonomous burns (enabling needs no latched thruster fault)."""
        if enable and self.fault:
            raise CommandError(
                f"gnc.set_autonomy: thruster fault latched ({self.fault}); send clear_fault first",
                FailureCode.NOT_ALLOWED,
            )
        if enable != self.autonomy:
            self.autonomy = enable
            if not enable:
                self._queue = None
            self.emit(
                "autonomy_changed",
                state="enabled" if enable else "disabled",
                reason="ground command",
            )

    def cmd_load_catalogue(self, blob_id: int) -> None:
        """Replace the catalogue with blob ``gnc_catalogue_<blob_id>.txt`` of NV storage."""
        if self.storage is None:
            raise CommandError(
                "gnc.load_catalogue: no NV storage configured", FailureCode.NOT_ALLOWED
            )
        name = catalogue_blob_name(blob_id)
        try:
            data = self.storage.read(name)
        except HalError as exc:
            raise CommandError(f"gnc.load_catalogue: {exc}", FailureCode.ILLEGAL_ARGUMENT) from None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            self.emit("catalogue_rejected", reason=f"{name} is not ASCII text")
            raise CommandError(
                f"gnc.load_catalogue: {name} is not ASCII text", FailureCode.MALFORMED
            ) from None
        try:
            self.load_catalogue_text(text, name)
        except ConfigError as exc:
            raise CommandError(f"gnc.load_catalogue: {exc}", FailureCode.MALFORMED) from None

    def cmd_add_object(
        self,
        object_id: int,
        epoch_s: float,
        x_m: float,
        y_m: float,
        z_m: float,
        vx_m_s: float,
        vy_m_s: float,
        vz_m_s: float,
        sigma_m: float,
    ) -> None:
        """Add (or replace) object ``obj-<id>`` given by its ECI state at onboard ``epoch_s``."""
        if self._utc_offset_ns is None:
            raise CommandError("gnc.add_object: no GNSS time yet", FailureCode.NOT_ALLOWED)
        # Every screening propagates an object from its epoch: an epoch far from now would
        # cost minutes per screening (and an old state vector is useless anyway).
        age_s = abs(self.clock.now_ns() / 1e9 - epoch_s)
        if age_s > MAX_STATE_AGE_S:
            raise CommandError(
                f"gnc.add_object: epoch {age_s:.0f} s from now exceeds {MAX_STATE_AGE_S:.0f} s",
                FailureCode.ILLEGAL_ARGUMENT,
            )
        from flight.gnc._catalogue import _parse_state

        epoch_utc = round(epoch_s * 1e9) + self._utc_offset_ns
        name = f"obj-{object_id}"
        try:
            obj = _parse_state(
                [
                    "STATE",
                    name,
                    "1970-01-01T00:00:00Z",
                    *map(repr, (x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s)),
                    *map(repr, (sigma_m, 4.0 * sigma_m, sigma_m)),
                ],
                tuple(self.cfg.state_sigma_rtn_m),  # type: ignore[arg-type]
            )
        except ValueError as exc:
            raise CommandError(f"gnc.add_object: {exc}", FailureCode.ILLEGAL_ARGUMENT) from None
        obj = CatalogueObject(obj.name, "state", obj.sigma_rtn_m, None, epoch_utc, obj.state)
        others = tuple(o for o in self.catalogue.objects if o.name != name)
        if len(others) + 1 > self.cfg.max_catalogue_objects:
            raise CommandError("gnc.add_object: catalogue full", FailureCode.NOT_ALLOWED)
        self.catalogue = Catalogue((*others, obj), self.catalogue.source or "inline")
        self._next_screen = 0.0
        self.emit("catalogue_loaded", source=f"add_object {name}", objects=len(self.catalogue))

    def check_manual_burn(self, delta_v_m_s: float, delay_s: float) -> None:
        """Acceptance check: a burn needs a converged orbit (its direction comes from it)."""
        if self.filter.updates < self.cfg.od_min_updates:
            raise CommandError(
                "gnc.manual_burn: orbit determination not converged yet", FailureCode.NOT_ALLOWED
            )

    def cmd_manual_burn(self, delta_v_m_s: float, delay_s: float) -> None:
        """Queue a tangential burn of ``delta_v_m_s`` starting no earlier than ``delay_s`` from now."""
        if abs(delta_v_m_s) < 1e-4:
            raise CommandError(
                "gnc.manual_burn: |delta_v_m_s| must be >= 1e-4 m/s", FailureCode.ILLEGAL_ARGUMENT
            )
        if self.fault:
            raise CommandError(
                f"gnc.manual_burn: thruster fault latched ({self.fault})", FailureCode.NOT_ALLOWED
            )
        if self._queue is not None or self._chunk is not None:
            raise CommandError(
                "gnc.manual_burn: a burn is already planned or firing", FailureCode.NOT_ALLOWED
            )
        t = self.clock.now_ns() / 1e9
        self._request(t, float(delta_v_m_s), "manual", "ground command", t + delay_s)

    def cmd_clear_fault(self) -> None:
        """Clear the latched thruster fault (autonomy stays off until enabled)."""
        if not self.fault:
            raise CommandError("gnc.clear_fault: no fault latched", FailureCode.NOT_ALLOWED)
        self.fault = ""

    def cmd_clear_catalogue(self) -> None:
        """Forget every catalogue object."""
        self.catalogue = Catalogue()

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """The ``gnc`` section of summary.json (see :func:`flight.gnc.install`)."""
        avoid = [{k: v for k, v in a.items() if k != "t_plan"} for a in self.avoidances]
        return {
            "slot_error_max_km": self.slot_err_max_m / 1e3,
            "altitude_error_max_m": self.alt_err_max_m,
            "slot_tolerance_km": self.slot_tol_m / 1e3,
            "altitude_tolerance_m": self.alt_tol_m,
            "target_altitude_km": None
            if self.a_target_m is None
            else (self.a_target_m - EARTH_RADIUS_M) / 1e3,
            "delta_v_m_s": self.delta_v_m_s,
            "delta_v_achieved_m_s": sum(abs(b.achieved_delta_v_m_s or 0.0) for b in self.burns),
            "delta_v_analytic_m_s": self.dv_analytic_m_s,
            "decay_m_per_day": (self.decay_m_s or 0.0) * 86400.0,
            "propellant_used_kg": self.propellant_used_kg,
            "burns": len([b for b in self.burns if b.t1_s > b.t0_s]),
            "burn_ratios": [b.ratio for b in self.burns if b.ratio is not None],
            "od_updates": self.filter.updates,
            "od_rejects": self.filter.rejects,
            "autonomy": self.autonomy,
            "thruster_fault": self.fault,
            "catalogue_objects": len(self.catalogue),
            "screenings": self.screenings,
            "conjunctions_screened": self.screened,
            "conjunctions_found": len(self.conjunctions),
            "pc_max": max((c.pc for c in self.conjunctions.values()), default=0.0),
            "avoidance_maneuvers": len(self.avoidances),
            "avoidances": avoid,
            "series": {
                **self.series,
                "slot_box_km": self.slot_tol_m / 1e3,
                "altitude_box_m": self.alt_tol_m,
            },
        }
