"""Executive: rate groups, order, timing statistics, exceptions, slips, health, watchdog."""

from __future__ import annotations

import pytest

from flight.core import (
    NS_PER_S,
    Component,
    ConfigError,
    Declaration,
    Executive,
    Health,
    SimClock,
)


class Recorder(Component):
    """Appends (name, t_ns) to a shared log on every step."""

    def __init__(self, name: str, cid: int, log: list[tuple[str, int]]) -> None:
        super().__init__(name, cid)
        self.log = log
        self.inits = 0

    def on_init(self) -> None:
        self.inits += 1

    def step(self, t_ns: int) -> None:
        self.log.append((self.name, t_ns))


class Exploder(Component):
    """Raises on every step while ``broken``."""

    DECLARATION = Declaration()

    def __init__(self, name: str, cid: int) -> None:
        super().__init__(name, cid)
        self.broken = True
        self.inits = 0

    def on_init(self) -> None:
        self.inits += 1

    def step(self, t_ns: int) -> None:
        if self.broken:
            raise RuntimeError("sensor on fire")


class CountingWatchdog:
    def __init__(self) -> None:
        self.strokes = 0

    def kick(self) -> None:
        self.strokes += 1


def test_rate_groups_run_at_their_rates_in_fixed_order() -> None:
    clock = SimClock()
    ex = Executive(clock, base_hz=10.0)
    log: list[tuple[str, int]] = []
    ex.add(Recorder("fast_a", 10, log), 10.0)
    ex.add(Recorder("slow", 11, log), 0.1)
    ex.add(Recorder("mid", 12, log), 1.0)
    ex.add(Recorder("fast_b", 13, log), 10.0)
    ticks = ex.run_for(20 * NS_PER_S)
    assert ticks == 200
    counts = {
        n: sum(1 for name, _ in log if name == n) for n in ("fast_a", "fast_b", "mid", "slow")
    }
    assert counts == {"fast_a": 200, "fast_b": 200, "mid": 20, "slow": 2}
    # Insertion order (the composition's data-flow order), whatever the rate, on one tick.
    first_tick = [name for name, t in log if t == 0]
    assert first_tick == ["fast_a", "slow", "mid", "fast_b"]
    assert [name for name, t in log if t == NS_PER_S] == ["fast_a", "mid", "fast_b"]
    assert ex.run_order == ["exec", "fast_a", "slow", "mid", "fast_b"]
    slow_times = [t for name, t in log if name == "slow"]
    assert slow_times == [0, 10 * NS_PER_S]
    assert ex.rate_groups == [(10.0, ["exec", "fast_a", "fast_b"]), (1.0, ["mid"]), (0.1, ["slow"])]


def test_rate_that_does_not_divide_base_is_rejected() -> None:
    ex = Executive(SimClock(), base_hz=10.0)
    with pytest.raises(ConfigError, match="does not divide"):
        ex.add(Recorder("odd", 10, []), 3.0)
    with pytest.raises(ConfigError, match="outside"):
        ex.add(Recorder("toofast", 10, []), 20.0)
    ex.add(Recorder("ok", 10, []), 2.5)
    with pytest.raises(ConfigError, match="id 10"):
        ex.add(Recorder("dup", 10, []), 1.0)


def test_exceptions_are_caught_counted_and_reported() -> None:
    clock = SimClock()
    ex = Executive(clock, base_hz=10.0, ping_misses_to_escalate=1000)
    log: list[tuple[str, int]] = []
    bad = Exploder("bad", 20)
    ex.add(bad, 10.0)
    ex.add(Recorder("after", 21, log), 10.0)
    ex.run_for(1 * NS_PER_S)
    assert ex.stats["bad"].exceptions == 10
    assert len(log) == 10  # the component after the failing one still ran every tick
    reported = ex.events.find("step_exception")
    assert reported and "sensor on fire" in reported[0].message
    # per-event throttling keeps the log from flooding: 5 per 10 s window by default
    assert len(reported) == 5
    assert ex.events.throttled_total >= 5


def test_execution_time_statistics_use_the_injected_timer() -> None:
    ticks = iter(range(0, 10**12, 1000))  # every timer read advances 1 us
    ex = Executive(SimClock(), base_hz=10.0, timer=lambda: next(ticks))
    ex.add(Recorder("r", 10, []), 10.0)
    ex.run_for(NS_PER_S)
    st = ex.stats["r"]
    assert st.steps == 10
    assert st.last_ns == st.max_ns == 1000
    assert st.mean_ns == pytest.approx(1000.0)


def test_cycle_slip_detected_when_a_tick_overruns_its_period() -> None:
    now = [0]

    def timer() -> int:
        return now[0]

    class Slow(Component):
        def __init__(self) -> None:
            super().__init__("slow", 30)
            self.n = 0

        def step(self, t_ns: int) -> None:
            self.n += 1
            now[0] += 150_000_000 if self.n == 3 else 1_000  # third step takes 150 ms

    ex = Executive(SimClock(), base_hz=10.0, timer=timer)
    ex.add(Slow(), 10.0)
    ex.run_for(NS_PER_S)
    assert ex.cycle_slips == 1
    assert ex.monitor.hk.cycle_slips == 1
    (slip,) = ex.events.find("cycle_slip")
    assert "tick 2" in slip.message


def test_health_escalation_restarts_then_fails_and_stops_watchdog() -> None:
    wd = CountingWatchdog()
    ex = Executive(
        SimClock(),
        base_hz=10.0,
        watchdog=wd,
        ping_period_s=1.0,
        ping_misses_to_escalate=2,
        max_restarts=1,
    )
    bad = Exploder("bad", 20)
    ex.add(bad, 10.0)
    bad.broken = False
    ex.run_for(3 * NS_PER_S)
    assert wd.strokes == 3  # one stroke per ping period while healthy
    bad.broken = True
    ex.run_for(2 * NS_PER_S)  # two missed pings -> restart
    assert ex.stats["bad"].restarts == 1
    assert bad.inits == 2
    assert ex.events.find("component_restarted")
    assert wd.strokes == 5  # still kicked while the executive tries to heal the component
    ex.run_for(2 * NS_PER_S)  # two more misses, restarts exhausted -> FAILED
    assert ex.stats["bad"].health is Health.FAILED
    assert ex.events.find("component_failed")
    strokes_at_failure = wd.strokes
    assert strokes_at_failure == 6  # the ping round that declared FAILED did not kick
    ex.run_for(5 * NS_PER_S)
    assert wd.strokes == strokes_at_failure  # watchdog left to expire
    assert ex.monitor.hk.unhealthy == 1


def test_recovered_component_returns_to_healthy() -> None:
    wd = CountingWatchdog()
    ex = Executive(SimClock(), base_hz=10.0, watchdog=wd, ping_misses_to_escalate=3)
    bad = Exploder("bad", 20)
    ex.add(bad, 10.0)
    ex.run_for(1 * NS_PER_S)
    assert ex.stats["bad"].health is Health.WARNING
    assert wd.strokes == 1  # recovery is the executive's job first: still kicked
    bad.broken = False
    ex.run_for(1 * NS_PER_S)
    assert ex.stats["bad"].health is Health.HEALTHY
    assert wd.strokes == 2


def test_slow_group_components_are_not_falsely_pinged_out() -> None:
    wd = CountingWatchdog()
    ex = Executive(SimClock(), base_hz=10.0, watchdog=wd)
    ex.add(Recorder("slow", 10, []), 0.1)
    ex.run_for(60 * NS_PER_S)
    assert ex.stats["slow"].ping_misses == 0
    assert wd.strokes == 60


def test_realtime_mode_paces_ticks_with_the_clock() -> None:
    class FakeRealClock:
        realtime = True

        def __init__(self) -> None:
            self.t = 0
            self.waits: list[int] = []

        def now_ns(self) -> int:
            return self.t

        def wait_until(self, t_ns: int) -> None:
            self.waits.append(t_ns)
            self.t = max(self.t, t_ns)

    clock = FakeRealClock()
    ex = Executive(clock, base_hz=10.0)  # type: ignore[arg-type]
    ticks = ex.run_for(NS_PER_S)
    assert ticks == 10
    assert clock.waits == [i * 100_000_000 for i in range(10)] + [NS_PER_S]  # ends at its end
