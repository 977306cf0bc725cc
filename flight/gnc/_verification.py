"""Verification: the delta-v a burn achieved, measured by orbit determination.

One orbit (plus the settling time) after a burn ends, the secular mean semi-major axis is
fitted over the burn-free data after it and evaluated at the burn's end; the fit over the orbit
before it was taken when the burn started. The achieved change is

    da_achieved = a_after - a_before + D (t1 - t0)

(the decay D during the burn is added back), and the ratio ``da_achieved / da_planned`` with
``da_planned = dv 2a / v`` (the tangential-burn closed form, REFERENCE.md). A ratio below
``underperformance_ratio`` or above its inverse is a thruster fault. Changes smaller than
``verify_min_delta_a_m`` are recorded but not judged (the fits are good to a few metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from flight.gnc._burn import BurnOutcome
from flight.gnc._config import GncConfig
from flight.gnc._kernels import MU_EARTH_M3_S2
from flight.gnc._mean import delta_v_for_delta_a_m_s

__all__ = ["BurnVerifier", "PendingVerification", "Verdict", "judge_burn"]


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
        self.verified = 0  #: burns with a judged ratio
        self.achieved_delta_v_m_s = 0.0  #: sum of |achieved delta-v| measured
        self.ratio_min: float | None = None
        self.ratio_max: float | None = None

    def schedule(self, outcome: BurnOutcome, period_s: float) -> None:
        """Verify ``outcome`` one orbit (plus the settling time) after it ended."""
        if self.cfg.verify:
            self.pending = PendingVerification(outcome, outcome.t1_s + self.cfg.settle_s + period_s)

    def cancel(self) -> None:
        """Forget the pending verification (a preempting avoidance burn spoils the fits)."""
        self.pending = None

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
