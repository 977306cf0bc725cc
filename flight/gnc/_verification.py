"""Verification: the delta-v a burn achieved, measured by orbit determination.

One orbit (plus the settling time) after a burn ends, the secular mean semi-major axis is
fitted over the burn-free data after it and evaluated at the burn's end; the fit over the orbit
before it was taken when the burn started. The achieved change is

    da_achieved = a_after - a_before + D (t1 - t0)

(the decay D during the burn is added back), and the ratio ``da_achieved / da_planned`` with
``da_planned = dv 2a / v`` (the tangential-burn closed form, REFERENCE.md). A ratio below
``underperformance_ratio`` or above its inverse is a thruster fault. Changes smaller than
``verify_min_delta_a_m`` are recorded but not judged (the fits are good to a few metres).

A burn made before one orbit of orbit determination (the first burns after boot) has no
full-orbit fit before it. It is judged from the filter instead (:func:`filter_delta_a_m`):
the filter state recorded when the burn started is propagated without thrust (point mass, J2
and the estimated drag) to the epoch of the re-converged filter state one orbit after the
burn, and the Brouwer mean semi-major axes of the two states are compared. At a common epoch
the two orbits differ only by the burn, so the short-period terms the first-order mean a
leaves cancel, and the filter's velocity uncertainty (a few mm/s once converged, ~2a/v
metres of a per m/s) sets the accuracy: ample against the 15 m judging threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from flight.gnc._burn import BurnOutcome, FilterState
from flight.gnc._config import GncConfig
from flight.gnc._kernels import MU_EARTH_M3_S2
from flight.gnc._mean import delta_v_for_delta_a_m_s, mean_semi_major_axis_m
from flight.gnc._propagator import OrbitPropagator

__all__ = [
    "BurnVerifier",
    "FilterComparison",
    "PendingVerification",
    "Verdict",
    "judge_burn",
    "judge_delta_a",
]


@dataclass(frozen=True, slots=True)
class PendingVerification:
    """A burn waiting for its verification, due at onboard ``due_s``."""

    outcome: BurnOutcome
    due_s: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verified outcome and, when the ratio is out of bounds, the fault reason."""

    outcome: BurnOutcome
    fault: str = ""


def judge_burn(
    cfg: GncConfig, outcome: BurnOutcome, a_after_m: float, decay_m_s: float, a_ref_m: float
) -> Verdict:
    """Compare the achieved change of mean a with the plan (see the module docstring).

    ``a_after_m``: secular mean a after the burn evaluated at its end (m); ``a_ref_m``: the
    reference orbit's a (m) for the closed forms. ``outcome.a_before`` must be set.
    """
    if outcome.a_before is None:
        raise ValueError("the burn has no mean a from before it")
    achieved_da = a_after_m - outcome.a_before[0] + decay_m_s * (outcome.t1_s - outcome.t0_s)
    return judge_delta_a(cfg, replace(outcome, verified_by="fit"), achieved_da, a_ref_m)


class FilterComparison:
    """Running comparison of the re-converged filter with the pre-burn filter state.

    The pre-burn state is propagated without thrust (point mass, J2 and the drag estimate
    of the moment, perhaps none) alongside the filter; each fused fix after the burn settled
    gives ``d_k = mean_a(filter_k) - mean_a(predicted_k)``. The burn makes a step in ``d``;
    drag the prediction lacks (early after boot the decay is not known yet) makes a slope in
    time. A straight-line fit through the samples (running sums: constant memory) evaluated
    at the middle of the burn separates the two: its value is the burn's change of mean a.

    The filter was told the commanded thrust, so after an under-performing burn its velocity
    re-converges only over about an orbit (its process noise is small once the thrust arc
    is over): :class:`BurnVerifier` therefore feeds it only the second half of the orbit
    after the settling time, when the transient has died down to a metre or two.
    """

    def __init__(self, prop: OrbitPropagator, before: FilterState) -> None:
        self._prop = prop
        self.t_ref_s = before.t_s  #: times in the sums are relative to this (conditioning)
        self._t_pred = before.t_s
        self._x_pred = np.array(before.x, dtype=np.float64)
        self.samples = 0
        self.t_first_s: float | None = None
        self.t_last_s: float | None = None
        self._st = self._stt = self._sd = self._std = 0.0

    def observe(self, t_s: float, x: ArrayLike, drag_m_s2: float) -> None:
        """Add the filter state ``x`` (ECI m, m/s) at onboard ``t_s`` (after the burn)."""
        if t_s <= self._t_pred:
            return  # not later than the last sample (or the pre-burn state): nothing new
        self._x_pred = self._prop.advance(self._x_pred, t_s - self._t_pred, drag_m_s2)
        self._t_pred = t_s
        xa = np.asarray(x, dtype=np.float64).reshape(6)
        d = float(mean_semi_major_axis_m(xa)) - float(mean_semi_major_axis_m(self._x_pred))
        tau = t_s - self.t_ref_s
        self.samples += 1
        self._st += tau
        self._stt += tau * tau
        self._sd += d
        self._std += tau * d
        if self.t_first_s is None:
            self.t_first_s = t_s
        self.t_last_s = t_s

    def span_s(self) -> float:
        """Time between the first and the last sample (s)."""
        if self.t_first_s is None or self.t_last_s is None:
            return 0.0
        return self.t_last_s - self.t_first_s

    def delta_a_m(self, t_eval_s: float) -> float:
        """The burn's change of mean a (m): the fitted line at ``t_eval_s``."""
        n = self.samples
        det = n * self._stt - self._st * self._st
        if n < 2 or det <= 0.0:
            raise ValueError("the comparison needs two samples at different times")
        slope = (n * self._std - self._st * self._sd) / det
        mean_t, mean_d = self._st / n, self._sd / n
        return mean_d + slope * (t_eval_s - self.t_ref_s - mean_t)


def judge_delta_a(
    cfg: GncConfig, outcome: BurnOutcome, achieved_da: float, a_ref_m: float
) -> Verdict:
    """Judge a measured change of mean a (m) against the burn's commanded delta-v."""
    achieved = delta_v_for_delta_a_m_s(a_ref_m, achieved_da)
    planned_da = outcome.delta_v_m_s * 2.0 * a_ref_m / math.sqrt(MU_EARTH_M3_S2 / a_ref_m)
    if abs(planned_da) < cfg.verify_min_delta_a_m:
        return Verdict(replace(outcome, achieved_delta_v_m_s=achieved))
    ratio = achieved_da / planned_da
    verified = replace(outcome, achieved_delta_v_m_s=achieved, ratio=ratio)
    lo = cfg.underperformance_ratio
    if ratio < lo or ratio > 1.0 / lo:
        return Verdict(
            verified, f"achieved/planned delta-v {ratio:.2f} outside [{lo:.2f}, {1 / lo:.2f}]"
        )
    return Verdict(verified)


class BurnVerifier:
    """Holds at most one burn awaiting verification, and bounded verification statistics."""

    def __init__(self, cfg: GncConfig) -> None:
        self.cfg = cfg
        self.pending: PendingVerification | None = None
        #: the filter-state comparison of the pending burn (when it recorded a state)
        self.comparison: FilterComparison | None = None
        self._observe_from_s = math.inf
        self.verified = 0  #: burns with a judged ratio
        self.achieved_delta_v_m_s = 0.0  #: sum of |achieved delta-v| measured
        self.ratio_min: float | None = None
        self.ratio_max: float | None = None

    def schedule(self, outcome: BurnOutcome, period_s: float, prop: OrbitPropagator) -> None:
        """Verify ``outcome`` one orbit (plus the settling time) after it ended; start the
        filter-state comparison when the burn recorded the filter state at its start."""
        if self.cfg.verify:
            self.pending = PendingVerification(outcome, outcome.t1_s + self.cfg.settle_s + period_s)
            before = outcome.state_before
            self.comparison = None if before is None else FilterComparison(prop, before)
            self._observe_from_s = outcome.t1_s + self.cfg.settle_s + 0.5 * period_s

    def observe(self, t_s: float, x: ArrayLike, drag_m_s2: float) -> None:
        """A fix was fused at ``t_s``: feed the comparison in the second half of the orbit
        after the pending burn settled (see :class:`FilterComparison`)."""
        c = self.comparison
        if self.pending is not None and c is not None and t_s >= self._observe_from_s:
            c.observe(t_s, x, drag_m_s2)

    def cancel(self) -> None:
        """Forget the pending verification (a preempting avoidance burn spoils the fits)."""
        self.pending = None
        self.comparison = None

    def due(self, t_s: float) -> PendingVerification | None:
        """Take the pending verification if it is due at ``t_s``."""
        p = self.pending
        if p is None or t_s < p.due_s:
            return None
        self.pending = None
        return p

    def account(self, verdict: Verdict) -> None:
        """Add a verdict to the statistics."""
        out = verdict.outcome
        if out.achieved_delta_v_m_s is not None:
            self.achieved_delta_v_m_s += abs(out.achieved_delta_v_m_s)
        if out.ratio is not None:
            self.verified += 1
            r = out.ratio
            self.ratio_min = r if self.ratio_min is None else min(self.ratio_min, r)
            self.ratio_max = r if self.ratio_max is None else max(self.ratio_max, r)
