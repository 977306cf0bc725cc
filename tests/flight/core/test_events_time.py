"""Event log throttling and severities; clocks."""

from __future__ import annotations

import pytest

from flight.core import NS_PER_S, EventDef, EventLog, MonotonicClock, Severity, SimClock

OVERTEMP = EventDef(7, "overtemp", Severity.HIGH, "zone {zone} at {temp_c:.1f} C")
INFO = EventDef(8, "note", Severity.INFO, "note {n}")


def test_throttle_per_event_with_suppressed_count() -> None:
    clock = SimClock()
    log = EventLog(clock, burst=3, window_s=10.0)
    sent = []
    log.add_sink(sent.append)
    for i in range(10):
        log.emit(4, "thermal", OVERTEMP, {"zone": 1, "temp_c": 60.0 + i})
        log.emit(4, "thermal", INFO, {"n": i}) if i < 2 else None
    assert [r.name for r in sent].count("overtemp") == 3
    assert log.throttled_total == 7
    clock.advance(10 * NS_PER_S)
    rec = log.emit(4, "thermal", OVERTEMP, {"zone": 1, "temp_c": 61.0})
    assert rec is not None and rec.suppressed_before == 7
    assert rec.message == "zone 1 at 61.0 C"
    assert rec.wire_id == 4 * 256 + 7
    assert log.counts[Severity.HIGH] == 4 and log.counts[Severity.INFO] == 2


def test_bad_event_arguments_never_raise() -> None:
    log = EventLog(SimClock())
    rec = log.emit(4, "thermal", OVERTEMP, {"zone": 1})
    assert rec is not None and "format error" in rec.message


def test_severity_numbers_are_the_pus5_subtypes() -> None:
    assert [int(s) for s in Severity] == [1, 2, 3, 4]


def test_clocks() -> None:
    sim = SimClock(5)
    sim.advance(10)
    sim.wait_until(100)
    assert sim.now_ns() == 100 and not sim.realtime
    with pytest.raises(ValueError):
        sim.advance(-1)
    mono = MonotonicClock()
    a = mono.now_ns()
    mono.wait_until(a + 1_000_000)
    assert mono.now_ns() >= a + 1_000_000 and mono.realtime
