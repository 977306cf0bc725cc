"""Simulated time judges budgets in onboard time (issue 13, item 2) and the paced clock.

Oracles: an injected wall timer that makes every step look slow (the host's time), and a
fake monotonic clock/sleep pair for the pacing (no wall-clock wait in the test)."""

from __future__ import annotations

import itertools

import pytest

from flight.core import NS_PER_S, Component, Executive, PacedClock, SimClock, execution_timer


class Busy(Component):
    def step(self, t_ns: int) -> None:
        pass


def test_a_slow_host_is_no_cycle_slip_in_simulated_time() -> None:
    slow = itertools.count(0, 2 * NS_PER_S)  # every wall reading 2 s later: every tick "late"
    ex = Executive(SimClock(), 10.0, wall_timer=lambda: next(slow))
    ex.add(Busy("busy", 50), 10.0)
    ex.run_for(3 * NS_PER_S)
    assert ex.cycle_slips == 0 and not ex.events.find("cycle_slip")
    assert ex.wall_overruns == ex.tick_count == 30
    assert ex.monitor.hk.max_tick_us == 0.0 and ex.monitor.hk.last_tick_us == 0.0
    assert ex.stats["busy"].max_ns == 0 and ex.stats["busy"].wall_max_ns == 2 * NS_PER_S


def test_execution_timer_is_zero_cost_in_simulated_time() -> None:
    timer = execution_timer(SimClock())
    assert timer() == timer() == 0
    assert execution_timer(PacedClock(2.0))() == 0


class FakeHost:
    def __init__(self) -> None:
        self.now = 1_000 * NS_PER_S
        self.sleeps: list[int] = []

    def monotonic_ns(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        ns = round(seconds * NS_PER_S)
        self.sleeps.append(ns)
        self.now += ns


def test_paced_clock_sleeps_to_the_pace_from_its_first_advance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    host = FakeHost()
    # the clock module reads the host through the time module: replace both readings
    monkeypatch.setattr(time, "monotonic_ns", host.monotonic_ns)
    monkeypatch.setattr(time, "sleep", host.sleep)
    clock = PacedClock(4.0)
    host.now += 7 * NS_PER_S  # boot and warm-up before the first tick: not paced
    assert clock.now_ns() == 0 and not clock.realtime
    for _ in range(8):
        clock.advance(NS_PER_S // 10)
    # 0.8 s of onboard time at 4x: 0.2 s of host time, in 8 equal sleeps, nothing for boot
    assert clock.now_ns() == 8 * NS_PER_S // 10
    assert host.sleeps == [NS_PER_S // 40] * 8
    host.now += 5 * NS_PER_S  # the host stalls: 20 s of onboard time behind, re-anchored
    clock.advance(NS_PER_S // 10)
    assert clock.overruns == 1 and len(host.sleeps) == 8
    clock.advance(NS_PER_S // 10)
    assert host.sleeps[-1] == NS_PER_S // 40


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_paced_clock_rejects_bad_speeds(bad: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        PacedClock(bad)
