"""Software bus: typed messages, latest-value reads, bounded queues with drop counters."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.core import BusError, SoftwareBus


@dataclass(frozen=True, slots=True)
class PowerBudget:
    available_w: float


@dataclass(frozen=True, slots=True)
class Throttle:
    level_frac: float


@dataclass
class Mutable:
    x: int


def test_latest_value_per_type() -> None:
    bus = SoftwareBus()
    assert bus.latest(PowerBudget) is None
    bus.publish(PowerBudget(100.0))
    bus.publish(Throttle(0.5))
    bus.publish(PowerBudget(80.0))
    assert bus.latest(PowerBudget) == PowerBudget(80.0)
    assert bus.latest(Throttle) == Throttle(0.5)
    assert bus.published[PowerBudget] == 2


def test_only_frozen_slotted_dataclasses_travel() -> None:
    bus = SoftwareBus()
    with pytest.raises(BusError, match="frozen"):
        bus.publish(Mutable(1))
    with pytest.raises(BusError):
        bus.publish({"power_w": 1})
    with pytest.raises(BusError):
        bus.subscribe(Mutable)


@settings(deadline=None, max_examples=50)
@given(depth=st.integers(1, 20), n=st.integers(0, 60), reads=st.integers(0, 60))
def test_bounded_queue_counts_drops(depth: int, n: int, reads: int) -> None:
    bus = SoftwareBus()
    sub = bus.subscribe(PowerBudget, depth=depth)
    got: list[PowerBudget] = []
    for i in range(n):
        bus.publish(PowerBudget(float(i)))
    for _ in range(reads):
        m = sub.pop()
        if m is not None:
            got.append(m)
    # Oracle: a queue of capacity `depth` that refuses when full.
    kept = min(n, depth)
    assert sub.drops == n - kept
    assert [m.available_w for m in got] == [float(i) for i in range(min(kept, reads))]
    assert len(sub) == kept - len(got)
    assert bus.drops() == {"PowerBudget": n - kept}


def test_independent_subscribers() -> None:
    bus = SoftwareBus()
    a = bus.subscribe(Throttle, depth=1)
    b = bus.subscribe(Throttle, depth=4)
    for i in range(3):
        bus.publish(Throttle(i / 10))
    assert a.drain() == [Throttle(0.0)] and a.drops == 2
    assert b.drain() == [Throttle(0.0), Throttle(0.1), Throttle(0.2)] and b.drops == 0
