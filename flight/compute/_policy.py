"""Scheduling: EDF and FIFO policies with their admission tests, power-mode choice under the
power budget and thermal throttle, and the energy bucket that keeps the average accelerator
power within ``PowerBudget.compute_w``.

Rate model. For an average power budget ``B`` (W) and a thermal cap ``C`` (W, the
throttle's fraction of the full-power mode), a mode ``m`` with throughput ``tops_m`` and
power ``P_m`` is usable when ``P_m <= C``; it then sustains ``tops_m`` when ``P_m <= B`` and
``tops_m * B / P_m`` otherwise (duty-cycled by the energy bucket). The scheduler runs the
usable mode of highest sustained throughput (ties: lower power), and admission predicts
completion times with that throughput times a derating factor.

Admission tests (``t`` = now, ``R`` = derated rate, ops/s, jobs keep their remaining work):

* EDF: sort the queued jobs plus the candidate by deadline (ties: higher priority, then
  arrival); the candidate is admitted when every job's cumulative finish time
  ``t + sum(ops)/R`` is within its deadline, or, if some already-admitted job was
  infeasible before, when the candidate neither misses nor makes another job miss.
* FIFO: the candidate goes last, so it is admitted when ``t + (all queued ops + its
  ops)/R`` is within its deadline (earlier jobs are unaffected by it).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flight.compute._job import Job
from hal.accelerator import ModeSpec, PowerMode

__all__ = [
    "EnergyBucket",
    "Limits",
    "Policy",
    "choose_mode",
    "edf_admit",
    "fifo_admit",
    "order",
]


@enum.unique
class Policy(enum.StrEnum):
    """Scheduling policy (``policy`` key of the ``[compute]`` section)."""

    EDF = "edf"
    FIFO = "fifo"


@dataclass(frozen=True, slots=True)
class Limits:
    """What the executor may do now: average power budget (W), thermal cap (W), and whether
    compute is allowed at all (spacecraft mode, load shedding)."""

    budget_w: float
    thermal_cap_w: float
    allowed: bool
    why: str = ""


def choose_mode(
    modes: Mapping[PowerMode, ModeSpec], limits: Limits
) -> tuple[PowerMode | None, float]:
    """(mode to run, sustained ops/s) under ``limits``; (None, 0.0) when no mode is usable."""
    if not limits.allowed or limits.budget_w <= 0.0:
        return None, 0.0
    best: tuple[float, float, PowerMode] | None = None
    for mode, spec in modes.items():
        if mode is PowerMode.OFF or spec.tops <= 0.0 or spec.power_w > limits.thermal_cap_w:
            continue
        rate = spec.tops * 1e12 * min(1.0, limits.budget_w / spec.power_w)
        key = (rate, -spec.power_w, mode)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None, 0.0
    return best[2], best[0]


def order(jobs: Iterable[Job], policy: Policy) -> list[Job]:
    """Jobs in the order the policy serves them."""
    if policy is Policy.EDF:
        return sorted(jobs, key=lambda j: (j.deadline_ns, -j.priority, j.seq))
    return sorted(jobs, key=lambda j: j.seq)


def _misses(ordered: Sequence[Job], now_ns: int, rate: float) -> set[int]:
    t = float(now_ns)
    out: set[int] = set()
    for j in ordered:
        t += j.remaining_ops() / rate * 1e9
        if t > j.deadline_ns:
            out.add(j.job_id)
    return out


def edf_admit(queue: Sequence[Job], cand: Job, now_ns: int, rate: float) -> bool:
    """EDF response-time admission test (see the module docstring)."""
    if rate <= 0.0:
        return False
    before = _misses(order(queue, Policy.EDF), now_ns, rate)
    after = _misses(order([*queue, cand], Policy.EDF), now_ns, rate)
    return cand.job_id not in after and after <= before


def fifo_admit(queue: Sequence[Job], cand: Job, now_ns: int, rate: float) -> bool:
    """FIFO admission test: the candidate, served last, meets its deadline."""
    if rate <= 0.0:
        return False
    total = sum(j.remaining_ops() for j in queue) + cand.remaining_ops()
    return now_ns + total / rate * 1e9 <= cand.deadline_ns


class EnergyBucket:
    """Energy credit (J) that accrues at the budget power and pays for accelerator work.

    Credit grows by ``budget_w * dt`` and is capped at ``budget_w * horizon_s``; running
    work and idle draw are debited. Work may start when the credit covers its estimate (or
    the bucket is full, for work bigger than the bucket). The average accelerator power over
    any window ``T`` is then at most ``budget_w + cap / T``.
    """

    def __init__(self, horizon_s: float) -> None:
        if not (horizon_s > 0.0 and math.isfinite(horizon_s)):
            raise ValueError(f"energy bucket horizon must be > 0 s, got {horizon_s}")
        self.horizon_s = horizon_s
        self.credit_j = 0.0
        self.cap_j = 0.0
        self.min_credit_j = 0.0  #: lowest credit seen (debt, J <= 0)

    def accrue(self, budget_w: float, dt_s: float) -> None:
        """Add ``budget_w * dt_s`` (capped)."""
        self.cap_j = max(0.0, budget_w) * self.horizon_s
        self.credit_j = min(self.credit_j + max(0.0, budget_w) * dt_s, self.cap_j)

    def can_start(self, energy_j: float) -> bool:
        """True when work of ``energy_j`` may start now."""
        return self.cap_j > 0.0 and self.credit_j >= min(energy_j, self.cap_j)

    def debit(self, energy_j: float) -> None:
        """Pay ``energy_j``."""
        self.credit_j -= energy_j
        self.min_credit_j = min(self.min_credit_j, self.credit_j)
