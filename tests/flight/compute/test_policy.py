"""Scheduling policy: mode choice (closed form), EDF admission (brute-force oracle), FIFO
admission and the energy bucket."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.compute import (
    Criticality,
    EnergyBucket,
    Job,
    JobKind,
    Limits,
    Policy,
    choose_mode,
    edf_admit,
    fifo_admit,
    order,
)
from hal.accelerator import ModeSpec, PowerMode

MODES = {
    PowerMode.OFF: ModeSpec(0.0, 0.0, 0.0),
    PowerMode.LOW: ModeSpec(200.0, 300.0, 50.0),
    PowerMode.MID: ModeSpec(600.0, 900.0, 80.0),
    PowerMode.HIGH: ModeSpec(1200.0, 2000.0, 120.0),
}
RATE = 1e12  # ops/s used by the admission tests below


def _job(job_id: int, ops: float, deadline_s: float, seq: int = 0, prio: int = 0) -> Job:
    return Job(
        job_id, JobKind.SHIP_DETECT, prio, round(deadline_s * 1e9), Criticality.NORMAL, 0, 1,
        0, ops, 0.0, 0.0, 1e9, 1e12, seq,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("budget", "cap", "mode", "tops"),
    [
        (5000.0, 2000.0, PowerMode.HIGH, 1200.0),
        (1000.0, 2000.0, PowerMode.MID, 600.0),  # HIGH duty-cycled gives 600 too: lower power wins
        (500.0, 2000.0, PowerMode.MID, 600.0 * 500 / 900),
        (5000.0, 1000.0, PowerMode.MID, 600.0),  # thermal cap excludes HIGH
        (5000.0, 400.0, PowerMode.LOW, 200.0),
        (100.0, 400.0, PowerMode.LOW, 200.0 / 3),
        (5000.0, 200.0, None, 0.0),
        (0.0, 2000.0, None, 0.0),
    ],
)
def test_choose_mode_closed_form(
    budget: float, cap: float, mode: PowerMode | None, tops: float
) -> None:
    got, rate = choose_mode(MODES, Limits(budget, cap, True))
    assert got is mode
    assert rate == pytest.approx(tops * 1e12)
    assert choose_mode(MODES, Limits(budget, cap, False)) == (None, 0.0)


def _feasible_some_order(jobs: list[Job]) -> bool:
    for perm in itertools.permutations(jobs):
        t, ok = 0.0, True
        for j in perm:
            t += j.est_ops / RATE * 1e9
            ok &= t <= j.deadline_ns
        if ok:
            return True
    return False


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 20), st.integers(1, 60)), min_size=1, max_size=5),
)
def test_edf_admission_equals_brute_force(specs: list[tuple[int, int]]) -> None:
    """All jobs released now on one machine: a set is schedulable iff some order meets every
    deadline (EDF is optimal), and EDF admission admits exactly such additions."""
    jobs = [_job(i + 1, ops * RATE, dl, seq=i) for i, (ops, dl) in enumerate(specs)]
    queue, cand = jobs[:-1], jobs[-1]
    if not _feasible_some_order(queue):
        return
    assert edf_admit(queue, cand, 0, RATE) == _feasible_some_order(jobs)


def test_fifo_admission_and_order() -> None:
    queue = [_job(1, 30 * RATE, 100, seq=0), _job(2, 10 * RATE, 500, seq=1)]
    assert fifo_admit(queue, _job(3, 5 * RATE, 45, seq=2), 0, RATE) is True
    assert fifo_admit(queue, _job(3, 5 * RATE, 44, seq=2), 0, RATE) is False
    # EDF would admit the urgent job by running it first
    assert edf_admit(queue, _job(3, 5 * RATE, 10, seq=2), 0, RATE) is True
    urgent = _job(3, 5 * RATE, 10, seq=2)
    assert [j.job_id for j in order([*queue, urgent], Policy.EDF)] == [3, 1, 2]
    assert [j.job_id for j in order([*queue, urgent], Policy.FIFO)] == [1, 2, 3]
    assert not edf_admit(queue, urgent, 0, 0.0) and not fifo_admit(queue, urgent, 0, 0.0)


@settings(max_examples=30, deadline=None)
@given(
    budget=st.floats(10.0, 2000.0),
    work=st.lists(st.floats(1.0, 5e4), min_size=1, max_size=40),
    dt=st.floats(0.1, 5.0),
)
def test_energy_bucket_bounds_average_power(budget: float, work: list[float], dt: float) -> None:
    """Spending only what can_start allows keeps total energy <= budget * T + bucket cap
    + the largest single item (work bigger than the bucket starts from a full bucket)."""
    bucket = EnergyBucket(horizon_s=30.0)
    spent = t = 0.0
    queue = list(work)
    while queue and t < 1e5:
        bucket.accrue(budget, dt)
        t += dt
        if bucket.can_start(queue[0]):
            e = queue.pop(0)
            bucket.debit(e)
            spent += e
    assert spent <= budget * t + budget * 30.0 + max(work) + 1e-6
