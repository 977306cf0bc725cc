"""Screening: conjunctions with the catalogue, their Pc, avoidance and the return to the box.

Every screening predicts the own orbit over ``screen_horizon_s`` (J2, estimated drag) and the
catalogue objects over the same times, finds close approaches below ``screen_distance_m`` by
linear closest approach inside each step, refines each TCA and computes the 2-D Pc with the
own covariance (filter covariance plus RTN sigmas, along-track grown by the drag uncertainty)
and the object's.

``Pc >= pc_threshold`` with autonomy on asks for the smallest tangential delta-v (0.005 m/s,
doubling up to ``max_avoid_delta_v_m_s``, both signs) whose predicted Pc is below
``pc_threshold * avoid_pc_factor`` (:class:`AvoidanceDecision`). Station-keeping holds until
the TCA has passed, then the node returns to its box (``return_time_s``); the time it took is
recorded (event back_in_slot).

Memory is bounded: counters, the last ``history_len`` avoidances, and a de-duplication table
of at most :data:`CONJUNCTION_TABLE` recent conjunctions (the oldest are forgotten first;
a passed conjunction is never found again).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flight.gnc._catalogue import Catalogue, CatalogueObject
from flight.gnc._config import GncConfig
from flight.gnc._conjunction import (
    Conjunction,
    collision_probability,
    linear_closest_approach,
    refine_tca,
    rtn_covariance_to_eci,
)
from flight.gnc._mean import burn_time_for_delta_v_s
from flight.gnc._propagator import OrbitPropagator, ThrustArc

__all__ = [
    "CONJUNCTION_TABLE",
    "AvoidanceDecision",
    "AvoidanceRecord",
    "ConjunctionScreener",
    "OwnOrbit",
]

#: Conjunctions remembered for de-duplication across screenings (one per object and TCA).
CONJUNCTION_TABLE = 256


@dataclass(frozen=True, slots=True)
class OwnOrbit:
    """The own orbit as GNC knows it at a screening (inputs of every prediction).

    ``x``: filter state (ECI m, m/s) at ``t_s``; ``p``: its covariance; ``drag_m_s2``:
    tangential drag acceleration; ``arcs``: recorded thrust arcs, times relative to ``t_s``;
    ``mean_motion_rad_s`` and ``decay_m_s`` grow the along-track uncertainty;
    ``utc_offset_ns`` maps onboard time to UTC; ``mass_kg`` sizes the avoidance burn.
    """

    t_s: float
    x: NDArray[np.float64]
    p: NDArray[np.float64]
    drag_m_s2: float
    arcs: tuple[ThrustArc, ...]
    mean_motion_rad_s: float
    decay_m_s: float
    utc_offset_ns: int
    mass_kg: float


@dataclass(frozen=True, slots=True)
class AvoidanceDecision:
    """An avoidance burn to make: ``delta_v_m_s`` (signed, tangential) against ``conj``,
    predicted to bring Pc to ``pc_predicted``."""

    conj: Conjunction
    delta_v_m_s: float
    pc_predicted: float
    miss_predicted_m: float


@dataclass(frozen=True, slots=True)
class AvoidanceRecord:
    """One avoidance (times in onboard s): before, predicted, measured after, return time."""

    seq: int
    name: str
    tca_s: float
    pc_before: float
    miss_before_m: float
    pc_predicted: float
    delta_v_m_s: float
    t_plan_s: float
    pc_after: float | None = None
    miss_after_m: float | None = None
    return_s: float | None = None

    def as_summary(self) -> dict[str, Any]:
        """JSON-ready fields for summary.json."""
        return {
            "name": self.name,
            "tca": self.tca_s,
            "pc_before": self.pc_before,
            "miss_before_m": self.miss_before_m,
            "pc_predicted": self.pc_predicted,
            "pc_after": self.pc_after,
            "miss_after_m": self.miss_after_m,
            "dv": self.delta_v_m_s,
            "return_s": self.return_s,
        }


class ConjunctionScreener:
    """Catalogue, screening, avoidance decisions and the return to the box."""

    def __init__(self, cfg: GncConfig, prop: OrbitPropagator, emit: Callable[..., object]) -> None:
        self.cfg = cfg
        self.prop = prop
        self._emit = emit
        self.catalogue = Catalogue()
        self._table: OrderedDict[tuple[str, int], Conjunction] = OrderedDict()
        self.screenings = 0
        self.screened = 0  #: object-screenings (objects x screenings)
        self.found = 0  #: distinct conjunctions found
        self.pc_max_last = 0.0  #: highest Pc of the last screening
        self.pc_max = 0.0  #: highest Pc ever found
        self.avoidances: deque[AvoidanceRecord] = deque(maxlen=cfg.history_len)
        self.avoidance_count = 0
        self.active: AvoidanceRecord | None = None  #: avoidance whose TCA is still ahead
        self.returning: AvoidanceRecord | None = None  #: TCA passed, not back in the box
        self.hold_until_s = -math.inf  #: station-keeping holds until then

    # -- avoidance lifecycle -----------------------------------------------------------------
    @property
    def box_suspended(self) -> bool:
        """True while an avoidance or the return from it is under way (box not judged)."""
        return self.active is not None or self.returning is not None

    def advance(self, t_s: float) -> None:
        """After the TCA (plus a minute), the avoidance turns into a return to the box."""
        if self.active is not None and t_s > self.active.tca_s + 60.0:
            self.returning = self.active
            self.active = None

    def box_sample(self, t_s: float, in_box: bool) -> float | None:
        """A full-orbit box sample; returns the time since TCA (s) when back in the box."""
        ret = self.returning
        if ret is None or not in_box:
            return None
        self.returning = None
        ret_s = t_s - ret.tca_s
        self._update(replace(ret, return_s=ret_s))
        self._emit("back_in_slot", dt_s=ret_s)
        return ret_s

    def commit(self, t_s: float, decision: AvoidanceDecision) -> AvoidanceRecord:
        """Record an avoidance whose burn has been queued (event avoidance_planned)."""
        c = decision.conj
        rec = AvoidanceRecord(
            self.avoidance_count,
            c.name,
            c.tca_s,
            c.pc,
            c.miss_m,
            decision.pc_predicted,
            decision.delta_v_m_s,
            t_s,
        )
        self.avoidance_count += 1
        self.avoidances.append(rec)
        self.active = rec
        self.hold_until_s = c.tca_s + 600.0
        self._emit(
            "avoidance_planned",
            name=c.name,
            dv_m_s=decision.delta_v_m_s,
            pc_before=c.pc,
            pc_after=decision.pc_predicted,
        )
        return rec

    def _update(self, rec: AvoidanceRecord) -> None:
        for i, r in enumerate(self.avoidances):
            if r.seq == rec.seq:
                self.avoidances[i] = rec
        if self.active is not None and self.active.seq == rec.seq:
            self.active = rec
        if self.returning is not None and self.returning.seq == rec.seq:
            self.returning = rec

    # -- screening ---------------------------------------------------------------------------
    def own_covariance(
        self, own: OwnOrbit, state: NDArray[np.float64], dt_s: float
    ) -> NDArray[np.float64]:
        """Own position covariance (m^2, ECI) ``dt_s`` ahead: RTN sigmas with the along-track
        grown by the drag uncertainty (``0.75 n D dt^2``), plus the filter's."""
        cfg = self.cfg
        grow = cfg.drag_uncertainty_frac * 0.75 * own.mean_motion_rad_s * own.decay_m_s * dt_s**2
        sr, st, sn = cfg.own_sigma_rtn_m
        cov = rtn_covariance_to_eci(state, (sr, math.hypot(st, grow), sn))
        return cov + own.p[0:3, 0:3]

    def screen(
        self,
        t_s: float,
        own: OwnOrbit,
        may_avoid: bool,
        avoidance_firing: bool,
        last_burn_end_s: float | None,
    ) -> tuple[list[Conjunction], AvoidanceDecision | None]:
        """Screen the catalogue over the horizon; returns the conjunctions found and at most
        one avoidance to make (``may_avoid``: autonomy on and no thruster fault)."""
        cfg = self.cfg
        step = cfg.screen_step_s
        rel = np.arange(0.0, cfg.screen_horizon_s + step, step)
        own_tr = self.prop.trajectory(own.x, rel, own.drag_m_s2)
        utc = np.round((own.t_s + rel) * 1e9).astype(np.int64) + own.utc_offset_ns
        objs = self.catalogue.states(utc)
        self.screenings += 1
        self.screened += len(self.catalogue)
        dr = objs[:, :-1, 0:3] - own_tr[None, :-1, 0:3]
        dv = objs[:, :-1, 3:6] - own_tr[None, :-1, 3:6]
        d, tau = linear_closest_approach(dr, dv, step)
        d = np.where(np.isnan(d), np.inf, d)
        found: list[Conjunction] = []
        for i, obj in enumerate(self.catalogue.objects):
            close = np.flatnonzero(d[i] < cfg.screen_distance_m)
            if close.size == 0:
                continue
            # one conjunction per contiguous run of close intervals
            for run in np.split(close, np.flatnonzero(np.diff(close) > 1) + 1):
                k = int(run[np.argmin(d[i, run])])
                conj = self._assess(
                    t_s, own, obj, own_tr[k], objs[i, k], own.t_s + rel[k], float(tau[i, k])
                )
                if conj is not None:
                    found.append(conj)
        self.pc_max_last = 0.0
        decision: AvoidanceDecision | None = None
        for conj in found:
            key = (conj.name, round(conj.tca_s / 600.0))
            if key not in self._table:
                self.found += 1
            self._table[key] = conj
            self._table.move_to_end(key)
            while len(self._table) > CONJUNCTION_TABLE:
                self._table.popitem(last=False)
            self.pc_max_last = max(self.pc_max_last, conj.pc)
            self.pc_max = max(self.pc_max, conj.pc)
            self._emit(
                "conjunction", name=conj.name, dt_s=conj.tca_s - t_s, miss_m=conj.miss_m, pc=conj.pc
            )
            av = self.active
            if av is not None and av.name == conj.name and abs(av.tca_s - conj.tca_s) < 600.0:
                if last_burn_end_s is not None and last_burn_end_s >= av.t_plan_s:
                    av = replace(av, pc_after=conj.pc, miss_after_m=conj.miss_m)
                    self._update(av)
                if av.pc_after is None or conj.pc < cfg.pc_threshold:
                    continue
            if conj.pc >= cfg.pc_threshold and decision is None:
                decision = self._plan_avoidance(t_s, own, conj, may_avoid, avoidance_firing)
        return found, decision

    def _assess(
        self,
        t_s: float,
        own: OwnOrbit,
        obj: CatalogueObject,
        own_s: NDArray[np.float64],
        obj_s: NDArray[np.float64],
        t_sample: float,
        tau0: float,
    ) -> Conjunction | None:
        tau, a, b = refine_tca(own_s, obj_s, tau0, self.prop)
        tca = t_sample + tau
        if tca < t_s:
            return None
        miss = b[0:3] - a[0:3]
        relv = b[3:6] - a[3:6]
        cov = self.own_covariance(own, a, tca - t_s) + rtn_covariance_to_eci(b, obj.sigma_rtn_m)
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
        self,
        t_s: float,
        own: OwnOrbit,
        conj: Conjunction,
        obj_at_tca: NDArray[np.float64],
        dv_m_s: float,
        t_burn_s: float,
    ) -> tuple[float, float]:
        """(Pc, miss m) at ``conj`` if a tangential ``dv_m_s`` is applied at ``t_burn_s``."""
        t_eval = conj.tca_s - 120.0
        impulses = []
        if dv_m_s != 0.0:
            s_b = self.prop.advance(own.x, t_burn_s - own.t_s, own.drag_m_s2, list(own.arcs))
            impulses.append((t_burn_s - own.t_s, dv_m_s * s_b[3:6] / np.linalg.norm(s_b[3:6])))
        own0 = self.prop.trajectory(own.x, np.array([t_eval - own.t_s]), own.drag_m_s2, impulses)[0]
        obj0 = self.prop.advance(obj_at_tca, -120.0)
        rel = np.arange(0.0, 241.0, 20.0)
        own_tr = self.prop.trajectory(own0, rel, own.drag_m_s2)
        obj_tr = self.prop.trajectory(obj0, rel)
        dr = obj_tr[:-1, 0:3] - own_tr[:-1, 0:3]
        dvv = obj_tr[:-1, 3:6] - own_tr[:-1, 3:6]
        dist, tau = linear_closest_approach(dr, dvv, 20.0)
        k = int(np.argmin(dist))
        _, a, b = refine_tca(own_tr[k], obj_tr[k], float(tau[k]), self.prop)
        miss = b[0:3] - a[0:3]
        cov = self.own_covariance(own, a, conj.tca_s - t_s)
        obj = next((o for o in self.catalogue.objects if o.name == conj.name), None)
        sigma = obj.sigma_rtn_m if obj is not None else tuple(self.cfg.state_sigma_rtn_m)
        cov = cov + rtn_covariance_to_eci(b, (sigma[0], sigma[1], sigma[2]))
        pc = collision_probability(miss, b[3:6] - a[3:6], cov, self.cfg.hard_body_radius_m)
        return pc, float(np.linalg.norm(miss))

    def _plan_avoidance(
        self, t_s: float, own: OwnOrbit, conj: Conjunction, may_avoid: bool, firing: bool
    ) -> AvoidanceDecision | None:
        cfg = self.cfg
        if not may_avoid:
            self._emit(
                "avoidance_impossible", name=conj.name, reason="autonomy disabled or thruster fault"
            )
            return None
        if conj.tca_s - t_s < cfg.min_avoid_lead_s:
            self._emit("avoidance_impossible", name=conj.name, reason="TCA too close")
            return None
        if firing:
            return None  # an avoidance burn is already under way
        idx = next(i for i, o in enumerate(self.catalogue.objects) if o.name == conj.name)
        utc = np.array([round(conj.tca_s * 1e9) + own.utc_offset_ns], dtype=np.int64)
        obj_state = self.catalogue.states(utc)[idx, 0]
        # The burn starts two GNC steps from now (power-up of the rail in between).
        t_start = t_s + 2.0 / cfg.rate_hz
        best: tuple[float, float, float] | None = None
        mag = 0.005
        while mag <= cfg.max_avoid_delta_v_m_s + 1e-12 and best is None:
            for sign in (1.0, -1.0):
                dv = sign * mag
                dur = burn_time_for_delta_v_s(own.mass_kg, dv, cfg.thrust_n, cfg.isp_s)
                t_mid = t_start + 0.5 * dur
                if t_mid + 0.5 * dur > conj.tca_s - 60.0:
                    continue
                pc, miss = self.predict_pc(t_s, own, conj, obj_state, dv, t_mid)
                if pc < cfg.pc_threshold * cfg.avoid_pc_factor and (best is None or pc < best[1]):
                    best = (dv, pc, miss)
            mag *= 2.0
        if best is None:
            self._emit(
                "avoidance_impossible", name=conj.name, reason="no delta-v within the limit works"
            )
            return None
        return AvoidanceDecision(conj, best[0], best[1], best[2])

    def recent_conjunctions(self) -> list[Conjunction]:
        """The remembered conjunctions, oldest first (at most :data:`CONJUNCTION_TABLE`)."""
        return list(self._table.values())
