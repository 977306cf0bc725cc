"""The GNC component: a thin layer that runs the GNC jobs and speaks the ground interface.

One component (name ``gnc``, id from the application registry) runs at ``rate_hz`` (0.1 Hz by
default). Each step, in this order:

1. **burn execution** (:mod:`flight.gnc._burn`): the typed burn state machine; thruster
   power is requested over the bus (:class:`~flight.messages.PropulsionPowerRequest`), the
   power application switches the rail, and GNC fires once the thruster reports READY;
2. **estimation** (:mod:`flight.gnc._estimation`) every ``od_interval_s``: a GNSS fix into
   the orbit filter, mean elements, decay;
3. **verification** (:mod:`flight.gnc._verification`) one orbit after a burn: achieved vs
   planned delta-v from OD (mean-a fits, or from the first burn after boot the filter state
   at burn start against the re-converged filter); out of bounds latches a thruster fault
   and stops autonomy;
4. **planning** (:mod:`flight.gnc._planning`) once per orbit: the control box and the drag
   make-up law, burns checked against the power budget, eclipse and duty limits;
5. **screening** (:mod:`flight.gnc._screening`) every ``screen_interval_s``: conjunctions,
   Pc, avoidance and the return to the box;
6. **statistics** (:mod:`flight.gnc._stats`) every ``series_interval_s``, in constant memory.

The ground interface (commands, housekeeping, events) is declared here, once.
"""

from __future__ import annotations

import math
from dataclasses import replace
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
from flight.gnc._burn import (
    BurnExecutor,
    BurnKind,
    BurnOutcome,
    BurnPlan,
    BurnSegment,
    FilterState,
)
from flight.gnc._catalogue import Catalogue, CatalogueObject, _parse_state, parse_catalogue
from flight.gnc._config import GncConfig
from flight.gnc._conjunction import Conjunction
from flight.gnc._estimation import Estimate, OrbitEstimator
from flight.gnc._kernels import EARTH_RADIUS_M
from flight.gnc._mean import mean_semi_major_axis_m
from flight.gnc._planning import ControlBox, StationKeepingPlanner, burn_window_s
from flight.gnc._propagator import OrbitPropagator, calibrate_reference_rate
from flight.gnc._screening import AvoidanceDecision, ConjunctionScreener, OwnOrbit
from flight.gnc._stats import GncStatistics
from flight.gnc._verification import (
    BurnVerifier,
    Verdict,
    judge_burn,
    judge_delta_a,
)
from flight.messages import (
    EclipseForecast,
    Mode,
    ModeStatus,
    PowerBudget,
    PropulsionPowerRequest,
)
from hal import GnssReceiver, Storage, Thruster
from native.errors import ConfigError, HalError

__all__ = ["MAX_STATE_AGE_S", "GncComponent", "catalogue_blob_name"]

#: Largest distance (s) between an uploaded state vector's epoch and onboard time.
MAX_STATE_AGE_S = 7 * 86_400.0
#: Slot altitudes a command may ask for (km): below 300 km a compute satellite re-enters
#: within weeks; above 1500 km it sits in the inner radiation belt.
MIN_SLOT_ALT_KM = 300.0
MAX_SLOT_ALT_KM = 1500.0
#: Largest change of the target semi-major axis one set_slot may make (m).
MAX_SLOT_CHANGE_M = 100e3
#: Fixes after a burn that the filter-state verification needs (see FilterComparison).
MIN_COMPARISON_FIXES = 8


def catalogue_blob_name(blob_id: int) -> str:
    """Name of the NV-storage blob that ``load_catalogue(blob_id)`` reads."""
    return f"gnc_catalogue_{blob_id}.txt"


def _decl() -> Declaration:
    f32, f64 = FieldType.F32, FieldType.F64
    return Declaration(
        commands=(
            CommandDef(
                1,
                "set_slot",
                (
                    Arg(
                        "target_altitude_km",
                        f64,
                        MIN_SLOT_ALT_KM,
                        MAX_SLOT_ALT_KM,
                        "km",
                        "target mean a - R_E",
                    ),
                    Arg("arg_lat_deg", f64, 0.0, 360.0, "deg", "slot mean arg. of latitude at t=0"),
                    Arg("slot_tolerance_km", f32, 0.1, 500.0, "km", "+- along-track box"),
                    Arg("altitude_tolerance_m", f32, 5.0, 20000.0, "m", "+- mean altitude box"),
                ),
                "set the control box (armed; refused if the target is > 100 km from the orbit "
                "estimate, or from the current box before the first estimate)",
                hazardous=True,
            ),
            CommandDef(
                2,
                "set_autonomy",
                (Arg("enable", FieldType.BOOL),),
                "autonomous burns (enabling them is armed)",
                hazardous=True,
            ),
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
                "ground-commanded tangential burn (armed)",
                hazardous=True,
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
            EventDef(
                19,
                "rail_timeout",
                Severity.MEDIUM,
                "{kind} burn: thruster not powered {timeout_s:.0f} s after the propulsion "
                "power request; retry in {retry_s:.0f} s",
            ),
            EventDef(20, "burn_interrupted", Severity.MEDIUM, "{kind} burn interrupted: {reason}"),
        ),
    )


class GncComponent(Component):
    """Station-keeping and collision avoidance (see the module docstring).

    ``component_id`` comes from the application registry (:mod:`flight.apps`); the devices
    are HAL interfaces (``storage`` optional: without it ``load_catalogue`` is refused).
    """

    DECLARATION = _decl()

    def __init__(
        self,
        cfg: GncConfig,
        component_id: int,
        gnss: GnssReceiver,
        thruster: Thruster,
        storage: Storage | None = None,
    ) -> None:
        super().__init__("gnc", component_id)
        self.cfg = cfg
        self.gnss = gnss
        self.thruster = thruster
        self.storage = storage
        self.prop = OrbitPropagator()
        self.autonomy = cfg.autonomy
        self.box = ControlBox.from_config(cfg)
        self.estimator = OrbitEstimator(cfg)
        self.planner = StationKeepingPlanner(cfg, self.box)
        self.executor = BurnExecutor(
            cfg, thruster, self._request_power, self.emit, self._on_thruster_fault
        )
        self.verifier = BurnVerifier(cfg)
        self.screener = ConjunctionScreener(cfg, self.prop, self.emit)
        self.stats = GncStatistics(cfg.history_len)
        self._next_od = 0.0
        self._next_plan = 0.0
        self._next_screen = 0.0
        self._next_series = 0.0
        if cfg.catalogue:
            try:
                text = Path(cfg.catalogue).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"[gnc] catalogue: cannot read {cfg.catalogue!r}: {exc}"
                ) from None
            self.screener.catalogue = self._parse(text, cfg.catalogue)

    # -- views used by tests, the app and the ground -------------------------------------------
    @property
    def catalogue(self) -> Catalogue:
        """The conjunction-screening catalogue."""
        return self.screener.catalogue

    @property
    def fault(self) -> str:
        """The latched thruster fault ('' = none)."""
        return self.executor.fault

    @property
    def last_estimate(self) -> Estimate | None:
        """The last orbit-averaged estimate."""
        return self.estimator.last_estimate

    def on_init(self) -> None:
        """Nothing to allocate beyond the constructor; state survives restarts on purpose."""

    def on_stop(self) -> None:
        """End or abandon a burn and withdraw the propulsion power request: a stopped GNC
        cannot point or stop a burn, so it must not hold the rail."""
        if self._bus is not None:
            t = self.clock.now_ns() / 1e9
            outcome = self.executor.stop(t)
            if outcome is not None:
                self._burn_ended(t, outcome)

    # -- small helpers -------------------------------------------------------------------------
    def _parse(self, text: str, source: str) -> Catalogue:
        cfg = self.cfg
        s_tle, s_state = cfg.tle_sigma_rtn_m, cfg.state_sigma_rtn_m
        return parse_catalogue(
            text,
            source=source,
            max_objects=cfg.max_catalogue_objects,
            tle_sigma_rtn_m=(s_tle[0], s_tle[1], s_tle[2]),
            state_sigma_rtn_m=(s_state[0], s_state[1], s_state[2]),
        )

    def load_catalogue_text(self, text: str, source: str = "inline") -> int:
        """Replace the catalogue with ``text`` (ConfigError and no change when malformed)."""
        try:
            cat = self._parse(text, source)
        except ConfigError as exc:
            self.emit("catalogue_rejected", reason=str(exc))
            raise
        self.screener.catalogue = cat
        self._next_screen = 0.0  # screen at the next step
        self.emit("catalogue_loaded", source=source, objects=len(cat))
        return len(cat)

    def _period(self) -> float:
        return self.box.period_s(self.estimator.last_estimate)

    def drag_accel_m_s2(self) -> float:
        """Tangential drag acceleration (m/s^2, <= 0) from the estimated decay."""
        return self.estimator.drag_accel_m_s2(self.box.mean_motion_rad_s())

    def _clean_after(self) -> float:
        end = self.executor.last_burn_end_s
        return -math.inf if end is None else end + self.cfg.settle_s

    def _request_power(self, on: bool, reason: str) -> None:
        self.bus.publish(PropulsionPowerRequest(self.clock.now_ns(), on, reason))

    def _on_thruster_fault(self, reason: str) -> None:
        """FDIR (after the executor latched the fault): stop autonomy, tell the ground."""
        if self.autonomy:
            self.autonomy = False
            self.emit("autonomy_changed", state="disabled", reason="thruster fault")

    # -- BurnEnvironment (what the executor asks of the rest of GNC) ----------------------------
    def mode_allows_burns(self) -> bool:
        """True unless a mode other than NOMINAL is published."""
        ms = self.bus.latest(ModeStatus)
        return ms is None or ms.mode == Mode.NOMINAL

    def verification_pending(self) -> bool:
        """True while the previous burn awaits its verification."""
        return self.verifier.pending is not None

    def window_s(self, t_s: float, kind: BurnKind) -> tuple[float, str]:
        """Longest burn (s) the power budget and sunlit window allow now."""
        return burn_window_s(
            self.cfg,
            t_s,
            kind is BurnKind.AVOIDANCE,
            self.bus.latest(PowerBudget),
            self.bus.latest(EclipseForecast),
        )

    def od_ready(self) -> bool:
        """True once orbit determination has converged."""
        return self.estimator.ready

    def velocity_direction(self, t_s: float) -> NDArray[np.float64]:
        """Unit ECI velocity predicted at ``t_s`` from the filter."""
        s = self.estimator.predict_state(t_s, self.drag_accel_m_s2(), self.prop)
        v: NDArray[np.float64] = s[3:6] / np.linalg.norm(s[3:6])
        return v

    def a_before(self, t_s: float) -> tuple[float, bool] | None:
        """Secular mean a over the last burn-free orbit, for verification."""
        return self.estimator.fit_a(
            max(t_s - self._period(), self._clean_after()), t_s, t_s, self._period()
        )

    def filter_state(self) -> FilterState | None:
        """The orbit filter's state at its epoch (None before the first fix)."""
        f = self.estimator.filter
        if not f.initialised:
            return None
        x = f.x
        return FilterState(
            f.t_s, (float(x[0]), float(x[1]), float(x[2]), float(x[3]), float(x[4]), float(x[5]))
        )

    def add_segment(self, segment: BurnSegment) -> None:
        """A fired segment: the filter propagates through it."""
        self.estimator.add_arc(segment.arc())

    # -- the step ------------------------------------------------------------------------------
    def step(self, t_ns: int) -> None:
        """One GNC cycle at onboard time ``t_ns``."""
        t = t_ns / 1e9
        outcome = self.executor.step(t, self)
        if outcome is not None:
            self._burn_ended(t, outcome)
        if t >= self._next_od - 1e-6:
            self._next_od = max(
                self._next_od + self.cfg.od_interval_s, t + 0.5 * self.cfg.od_interval_s
            )
            self._od_step(t, t_ns)
        pending = self.verifier.due(t)
        if pending is not None:
            self._verify(t, pending.outcome)
        if t >= self._next_plan - 1e-6:
            self._next_plan = t + self.planner.plan_interval_s()
            self._plan(t)
        if (
            len(self.catalogue)
            and t >= self._next_screen - 1e-6
            and self.estimator.utc_offset_ns is not None
            and self.estimator.ready
        ):
            self._next_screen = t + self.cfg.screen_interval_s
            self._screen(t)
        if t >= self._next_series - 1e-6:
            self._next_series = t + self.cfg.series_interval_s
            self._record(t)
        self._update_hk()

    def _burn_ended(self, t: float, outcome: BurnOutcome) -> None:
        if outcome.a_before is not None or outcome.state_before is not None:
            self.verifier.schedule(outcome, self._period(), self.prop)
        if outcome.kind is BurnKind.AVOIDANCE:
            self._next_screen = min(self._next_screen, t + self.cfg.settle_s)

    # -- estimation ----------------------------------------------------------------------------
    def _od_step(self, t: float, t_ns: int) -> None:
        try:
            fix = self.gnss.read()
        except HalError:
            return  # a missed fix is not an error: the next one comes in od_interval_s
        if not fix.valid:
            return
        res = self.estimator.ingest(t, t_ns, fix, self.drag_accel_m_s2(), self._clean_after())
        if res.accepted:
            f = self.estimator.filter
            self.verifier.observe(f.t_s, f.x, self.drag_accel_m_s2())
        if res.reset:
            self.emit("od_reset")
        if res.converged_now:
            self.emit("od_converged", updates=self.estimator.filter.updates)

    def estimate(self, t: float) -> Estimate | None:
        """Orbit-averaged estimate at ``t`` (None before one orbit of OD); completes the
        control box from it the first time (event slot_captured)."""
        est = self.estimator.estimate(t, self._period(), self._clean_after())
        if est is not None and not self.box.ready:
            self.box.capture(est, self.prop)
            assert self.box.a_target_m is not None and self.box.lam0_rad is not None
            self.emit(
                "slot_captured",
                alt_km=(self.box.a_target_m - EARTH_RADIUS_M) / 1e3,
                lam_deg=math.degrees(self.box.lam0_rad),
            )
        return est

    def errors(self, est: Estimate) -> tuple[float, float]:
        """(slot error m, + ahead; altitude error m) of an estimate against the box."""
        return self.box.errors(est)

    def control_law(self, x_m: float, da_m: float, decay_m_s: float) -> tuple[float, str]:
        """Delta-v (m/s, signed; 0 = none) and reason (see :class:`StationKeepingPlanner`)."""
        return self.planner.control_law(x_m, da_m, decay_m_s)

    # -- verification --------------------------------------------------------------------------
    def _verify(self, t: float, outcome: BurnOutcome) -> None:
        """Judge a burn one orbit after it: from the mean-a fits when a full orbit of OD
        preceded it, else from the filter states before and after it (the first burns after
        boot); a burn neither can judge (no OD after it) stays unverified."""
        verdict = self._verify_by_fits(t, outcome)
        if verdict is None:
            verdict = self._verify_by_filter(outcome)
        if verdict is None:
            return
        self.executor.update_outcome(verdict.outcome)
        self.verifier.account(verdict)
        if verdict.outcome.ratio is not None:
            self.emit("burn_verified", ratio=verdict.outcome.ratio)
        if verdict.fault:
            self.executor.latch_fault(verdict.fault)

    def _verify_by_fits(self, t: float, outcome: BurnOutcome) -> Verdict | None:
        before = outcome.a_before
        if before is None or not before[1] or self.box.a_target_m is None:
            return None  # a partial-orbit fit before the burn is not trusted to judge it
        after = self.estimator.fit_a(
            outcome.t1_s + self.cfg.settle_s, t, outcome.t1_s, self._period()
        )
        if after is None:
            return None
        return judge_burn(
            self.cfg, outcome, after[0], self.estimator.decay_m_s or 0.0, self.box.a_target_m
        )

    def _verify_by_filter(self, outcome: BurnOutcome) -> Verdict | None:
        before, cmp = outcome.state_before, self.verifier.comparison
        self.verifier.comparison = None
        # Only fixes fused after the burn settled count (a filter that merely propagated
        # through the burn with the commanded thrust would "confirm" the plan), and they
        # must span most of the half orbit they are taken over, for the drag slope to
        # separate from the burn's step.
        if (
            before is None
            or cmp is None
            or cmp.samples < MIN_COMPARISON_FIXES
            or cmp.span_s() < 0.4 * self._period()
        ):
            return None
        da = cmp.delta_a_m(0.5 * (outcome.t0_s + outcome.t1_s))
        a_ref = self.box.a_target_m or float(mean_semi_major_axis_m(np.array(before.x)))
        return judge_delta_a(self.cfg, replace(outcome, verified_by="filter"), da, a_ref)

    # -- planning ------------------------------------------------------------------------------
    def _plan(self, t: float) -> None:
        est = self.estimate(t)
        if est is None:
            return
        if self.estimator.update_decay(t, self._period(), self._clean_after()):
            first = self.estimator.first_converged_t_s
            if first is not None:
                self.stats.backfill_from(first)
        self._track_box(t, est)
        self.screener.advance(t)
        if (
            not self.autonomy
            or self.fault
            or t < self.screener.hold_until_s
            or not self.mode_allows_burns()
        ):
            return
        if self.executor.busy or self.verifier.pending is not None:
            return
        decay = self.estimator.decay_m_s
        if decay is None or not est.a_full:
            return
        last_end = self.executor.last_burn_end_s
        if last_end is not None and t < last_end + self.cfg.settle_s + self._period():
            return
        x, da = self.box.errors(est)
        dv, reason = self.planner.control_law(x, da, decay)
        if dv != 0.0:
            self.executor.submit(BurnPlan(BurnKind.STATIONKEEPING, dv, dv, t, reason))

    # -- screening -----------------------------------------------------------------------------
    def _own_orbit(self) -> OwnOrbit:
        est = self.estimator
        f = est.filter
        assert est.utc_offset_ns is not None
        return OwnOrbit(
            f.t_s,
            f.x.copy(),
            f.p.copy(),
            self.drag_accel_m_s2(),
            tuple(est.arcs_relative(f.t_s)),
            self.box.mean_motion_rad_s(),
            est.decay_m_s or 0.0,
            est.utc_offset_ns,
            self.cfg.dry_mass_kg + (self.executor.propellant_kg or 0.0),
        )

    def _screen(self, t: float) -> None:
        ex = self.executor
        active = ex.active
        _, decision = self.screener.screen(
            t,
            self._own_orbit(),
            may_avoid=self.autonomy and not self.fault,
            avoidance_firing=active is not None and active.kind is BurnKind.AVOIDANCE,
            last_burn_end_s=ex.last_burn_end_s,
        )
        if decision is not None:
            self._avoid(t, decision)

    def _avoid(self, t: float, decision: AvoidanceDecision) -> None:
        """Make an avoidance burn now: it preempts any other burn and its verification."""
        preempted = self.executor.preempt(t)
        if preempted is not None:
            self._burn_ended(t, preempted)
        self.verifier.cancel()
        c = decision.conj
        self.executor.submit(
            BurnPlan(
                BurnKind.AVOIDANCE,
                decision.delta_v_m_s,
                decision.delta_v_m_s,
                t,
                f"Pc {c.pc:.1e} with {c.name}",
            )
        )
        self.screener.commit(t, decision)

    def predict_pc(
        self,
        t: float,
        conj: Conjunction,
        obj_at_tca: NDArray[np.float64],
        dv: float,
        t_burn: float,
    ) -> tuple[float, float]:
        """(Pc, miss m) at ``conj`` if a tangential ``dv`` (m/s) is applied at ``t_burn``."""
        return self.screener.predict_pc(t, self._own_orbit(), conj, obj_at_tca, dv, t_burn)

    # -- statistics ----------------------------------------------------------------------------
    def _track_box(self, t: float, est: Estimate) -> tuple[float, float] | None:
        if not self.box.ready:
            return None
        x, da = self.box.errors(est)
        self.hk.slot_error_km = x / 1e3
        self.hk.altitude_error_m = da
        in_box = self.box.contains(x, da)
        judged = est.a_full and not self.screener.box_suspended
        if judged and self.stats.judge(x, da, in_box):
            self.emit("box_exit", slot_km=x / 1e3, alt_m=da)
        if est.a_full:
            self.screener.box_sample(t, in_box)
        return x, da

    def _record(self, t: float) -> None:
        est = self.estimate(t)
        self.stats.integrate_analytic(t, self.box.mean_motion_rad_s(), self.estimator.decay_m_s)
        if est is None:
            return
        xd = self._track_box(t, est)
        if xd is not None:
            self.stats.sample(t, xd[0], xd[1])

    def _update_hk(self) -> None:
        hk = self.hk
        f = self.estimator.filter
        hk.od_updates = f.updates
        hk.od_sigma_m = f.position_sigma_m if f.initialised else 0.0
        est = self.estimator.last_estimate
        if est is not None:
            hk.mean_alt_km = (est.a_m - EARTH_RADIUS_M) / 1e3
        hk.decay_m_day = (self.estimator.decay_m_s or 0.0) * 86400.0
        hk.autonomy = self.autonomy
        hk.thruster_fault = bool(self.fault)
        hk.burns = min(self.executor.outcome_count, 65535)
        hk.delta_v_m_s = self.executor.delta_v_m_s
        hk.pending_dv_m_s = self.executor.pending_delta_v_m_s
        hk.catalogue_objects = len(self.catalogue)
        hk.conjunctions_screened = min(self.screener.screened, 2**32 - 1)
        hk.pc_max = self.screener.pc_max_last
        hk.avoidance_maneuvers = min(self.screener.avoidance_count, 65535)

    # -- commands ------------------------------------------------------------------------------
    def hazard_set_autonomy(self, enable: bool) -> bool:
        """Enabling autonomous burns is hazardous; stopping them is not."""
        return bool(enable)

    def check_set_slot(
        self,
        target_altitude_km: float,
        arg_lat_deg: float,
        slot_tolerance_km: float,
        altitude_tolerance_m: float,
    ) -> None:
        """Refuse at acceptance a target more than 100 km from the orbit: from the orbit
        estimate, or before the first estimate from the current box target; with neither,
        the orbit is unknown and no slot may be set."""
        if arg_lat_deg >= 360.0:
            raise CommandError(
                "gnc.set_slot: arg_lat_deg must be < 360", FailureCode.ILLEGAL_ARGUMENT
            )
        a_new = EARTH_RADIUS_M + target_altitude_km * 1e3
        est = self.estimator.last_estimate
        if est is not None:
            reference, what = est.a_m, "the orbit estimate"
        elif self.box.a_target_m is not None:
            reference, what = self.box.a_target_m, "the current box (no orbit estimate yet)"
        else:
            raise CommandError(
                "gnc.set_slot: no orbit estimate and no box yet: the orbit is unknown",
                FailureCode.NOT_ALLOWED,
            )
        if abs(a_new - reference) > MAX_SLOT_CHANGE_M:
            raise CommandError(
                f"gnc.set_slot: target {target_altitude_km:.1f} km is "
                f"{abs(a_new - reference) / 1e3:.0f} km from {what} (limit "
                f"{MAX_SLOT_CHANGE_M / 1e3:.0f} km)",
                FailureCode.ILLEGAL_ARGUMENT,
            )

    def cmd_set_slot(
        self,
        target_altitude_km: float,
        arg_lat_deg: float,
        slot_tolerance_km: float,
        altitude_tolerance_m: float,
    ) -> None:
        """Set the control box; the reference is recalibrated for the new target."""
        self.check_set_slot(
            target_altitude_km, arg_lat_deg, slot_tolerance_km, altitude_tolerance_m
        )
        a_new = EARTH_RADIUS_M + target_altitude_km * 1e3
        est = self.estimator.last_estimate
        inc = est.inc_rad if est is not None else math.radians(53.0)
        rate = calibrate_reference_rate(a_new, inc, self.prop)
        box = self.box
        box.a_target_m = a_new
        box.lam_rate_rad_s = rate
        box.lam0_rad = math.radians(arg_lat_deg)
        box.slot_tol_m = slot_tolerance_km * 1e3
        box.alt_tol_m = altitude_tolerance_m
        self.stats.reset_box()
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
                self.executor.cancel_plan()
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
        offset = self.estimator.utc_offset_ns
        if offset is None:
            raise CommandError("gnc.add_object: no GNSS time yet", FailureCode.NOT_ALLOWED)
        # Every screening propagates an object from its epoch: an epoch far from now would
        # cost minutes per screening (and an old state vector is useless anyway).
        age_s = abs(self.clock.now_ns() / 1e9 - epoch_s)
        if age_s > MAX_STATE_AGE_S:
            raise CommandError(
                f"gnc.add_object: epoch {age_s:.0f} s from now exceeds {MAX_STATE_AGE_S:.0f} s",
                FailureCode.ILLEGAL_ARGUMENT,
            )
        name = f"obj-{object_id}"
        s = self.cfg.state_sigma_rtn_m
        try:
            obj = _parse_state(
                [
                    "STATE",
                    name,
                    "1970-01-01T00:00:00Z",
                    *map(repr, (x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s)),
                    *map(repr, (sigma_m, 4.0 * sigma_m, sigma_m)),
                ],
                (s[0], s[1], s[2]),
            )
        except ValueError as exc:
            raise CommandError(f"gnc.add_object: {exc}", FailureCode.ILLEGAL_ARGUMENT) from None
        epoch_utc = round(epoch_s * 1e9) + offset
        obj = CatalogueObject(obj.name, "state", obj.sigma_rtn_m, None, epoch_utc, obj.state)
        cat = self.catalogue
        others = tuple(o for o in cat.objects if o.name != name)
        if len(others) + 1 > self.cfg.max_catalogue_objects:
            raise CommandError("gnc.add_object: catalogue full", FailureCode.NOT_ALLOWED)
        self.screener.catalogue = Catalogue((*others, obj), cat.source or "inline")
        self._next_screen = 0.0
        self.emit("catalogue_loaded", source=f"add_object {name}", objects=len(self.catalogue))

    def check_manual_burn(self, delta_v_m_s: float, delay_s: float) -> None:
        """Acceptance check: a burn needs a converged orbit (its direction comes from it)."""
        if not self.estimator.ready:
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
        if self.executor.busy:
            raise CommandError(
                "gnc.manual_burn: a burn is already planned or firing", FailureCode.NOT_ALLOWED
            )
        t = self.clock.now_ns() / 1e9
        dv = float(delta_v_m_s)
        self.executor.submit(BurnPlan(BurnKind.MANUAL, dv, dv, t + delay_s, "ground command"))

    def cmd_clear_fault(self) -> None:
        """Clear the latched thruster fault (autonomy stays off until enabled)."""
        if not self.fault:
            raise CommandError("gnc.clear_fault: no fault latched", FailureCode.NOT_ALLOWED)
        self.executor.clear_fault()

    def cmd_clear_catalogue(self) -> None:
        """Forget every catalogue object."""
        self.screener.catalogue = Catalogue()

    # -- summary -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The ``gnc`` section of summary.json: figures kept incrementally (constant memory);
        lists hold at most the last ``history_len`` entries."""
        box, ex, sc, st, ver = self.box, self.executor, self.screener, self.stats, self.verifier
        f = self.estimator.filter
        estimated = st.samples > 0  # no box sample before orbit determination converged
        return {
            # None ("no estimate"), never 0, while no sample was taken
            "slot_error_max_km": st.slot_err_max_m / 1e3 if estimated else None,
            "altitude_error_max_m": st.alt_err_max_m if estimated else None,
            "slot_tolerance_km": box.slot_tol_m / 1e3,
            "altitude_tolerance_m": box.alt_tol_m,
            "target_altitude_km": None
            if box.a_target_m is None
            else (box.a_target_m - EARTH_RADIUS_M) / 1e3,
            "box_samples": st.samples,
            "box_exits": st.box_exits,
            "delta_v_m_s": ex.delta_v_m_s,
            "delta_v_achieved_m_s": ver.achieved_delta_v_m_s,
            "delta_v_analytic_m_s": st.dv_analytic_m_s,
            "decay_m_per_day": (self.estimator.decay_m_s or 0.0) * 86400.0,
            "propellant_used_kg": ex.propellant_used_kg,
            "burns": ex.burn_count,
            "burns_verified": ver.verified,
            "burn_ratio_min": ver.ratio_min,
            "burn_ratio_max": ver.ratio_max,
            "burn_ratios": [b.ratio for b in ex.outcomes if b.ratio is not None],
            "last_burns": [
                {
                    "kind": str(b.kind),
                    "t0_s": b.t0_s,
                    "t1_s": b.t1_s,
                    "delta_v_m_s": b.delta_v_m_s,
                    "achieved_delta_v_m_s": b.achieved_delta_v_m_s,
                    "ratio": b.ratio,
                    "verified_by": b.verified_by or None,
                    "ended": b.ended,
                }
                for b in ex.outcomes
            ],
            "rail_timeouts": ex.rail_timeouts,
            "od_updates": f.updates,
            "od_rejects": f.rejects,
            "autonomy": self.autonomy,
            "thruster_fault": self.fault,
            "catalogue_objects": len(self.catalogue),
            "screenings": sc.screenings,
            "conjunctions_screened": sc.screened,
            "conjunctions_found": sc.found,
            "pc_max": sc.pc_max,
            "avoidance_maneuvers": sc.avoidance_count,
            "avoidances": [a.as_summary() for a in sc.avoidances],
        }
