"""The executive: rate groups, deterministic order, timing, health and the watchdog.

One base tick (for example 10 Hz) drives every rate group; a group's rate divides the base
rate exactly (10 Hz base: 10, 5, 2, 1, 0.5, 0.1 Hz ...). On each tick the components that are
due run in the order they were added, whatever their rate: the composition adds them in data
flow order (producers of a bus topic before its consumers), so a consumer reads what its
producers published in the same tick. The order is fixed and deterministic.

Lifecycle: :meth:`Executive.start` (processor start) calls every component's ``on_boot``,
then ``on_init``, then ``on_start``; a health-escalation restart calls ``on_stop``,
``on_init``, ``on_start`` only, so volatile state is forgotten on a reset but not on a
component restart.

Per component the executive keeps execution-time statistics and catches any exception a step
raises (counted and reported by event; the executive goes on). Health is ping-based: every
ping period each component must have completed a step since the last ping and answer its
``health_check``; a miss is counted, and after ``ping_misses_to_escalate`` misses in a row the
component is restarted (stop, init, start), up to ``max_restarts`` times, after which it is
declared FAILED. The watchdog is stroked only while no component is FAILED: the executive gets
the first chance to heal a component (restarts), and a node that cannot heal itself is then
reset by the hardware.

A cycle slip is a tick whose work took longer than the base period, measured in onboard
time (:func:`flight.core.execution_timer`). In real time the next tick is then late: the slip
is counted, reported, and the schedule realigns instead of bursting to catch up. In simulated
time work inside a tick costs no onboard time, so a simulated run has no slips however slow or
loaded the host is (or however long a first JIT compile takes), and the same seed gives the
same telemetry. The host's own time is measured separately with ``wall_timer``: per component
(:attr:`ComponentStats.wall_mean_ns`, ``wall_max_ns``) and per tick (:attr:`Executive.
wall_overruns`, ticks whose host time exceeded the base period). Those wall figures never
enter telemetry.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flight.core._bus import SoftwareBus
from flight.core._component import Component
from flight.core._declare import Declaration, EventDef, Severity, TlmField
from flight.core._events import EventLog
from flight.core._params import ParamStore
from flight.core._time import NS_PER_S, Clock, execution_timer, perf_counter_ns
from flight.core._types import FieldType
from native.errors import ConfigError, SatnodeError

__all__ = ["ComponentStats", "Executive", "ExecutiveMonitor", "Health", "Watchdog"]


class Watchdog(Protocol):
    """What the executive needs of a watchdog device (:class:`hal.platform.Watchdog`): a kick."""

    def kick(self) -> None:
        """Restart the watchdog's countdown (a 'stroke')."""
        ...


@enum.unique
class Health(enum.Enum):
    """Health state of a component as judged by pings."""

    HEALTHY = "healthy"
    WARNING = "warning"  # missed at least one ping
    FAILED = "failed"  # restarts exhausted; watchdog no longer stroked


@dataclass(slots=True)
class ComponentStats:
    """Execution statistics and health bookkeeping of one component (times in ns).

    ``total_ns``/``max_ns``/``last_ns`` are onboard-time costs (zero in simulated time);
    ``wall_total_ns``/``wall_max_ns`` are the host's time (reports only, never telemetry).
    """

    rate_hz: float
    divisor: int
    steps: int = 0
    total_ns: int = 0
    max_ns: int = 0
    last_ns: int = 0
    wall_total_ns: int = 0
    wall_max_ns: int = 0
    exceptions: int = 0
    ping_misses: int = 0
    consecutive_misses: int = 0
    restarts: int = 0
    health: Health = Health.HEALTHY
    steps_at_last_ping: int = 0
    skip_next_ping: bool = False

    @property
    def mean_ns(self) -> float:
        """Mean execution time per step (ns)."""
        return self.total_ns / self.steps if self.steps else 0.0

    @property
    def wall_mean_ns(self) -> float:
        """Mean host time per step (ns)."""
        return self.wall_total_ns / self.steps if self.steps else 0.0


class ExecutiveMonitor(Component):
    """The executive's own component: its housekeeping and events (id 1, name 'exec')."""

    DECLARATION = Declaration(
        telemetry=(
            TlmField("tick_count", FieldType.U64, "", "base ticks run"),
            TlmField("cycle_slips", FieldType.U32, "", "ticks that overran the base period"),
            TlmField(
                "max_tick_us", FieldType.F32, "us", "longest tick since boot (onboard time)"
            ),
            TlmField(
                "last_tick_us", FieldType.F32, "us", "last tick's execution time (onboard time)"
            ),
            TlmField("exceptions", FieldType.U32, "", "component step exceptions caught"),
            TlmField("ping_misses", FieldType.U32, "", "health ping misses, all components"),
            TlmField("restarts", FieldType.U16, "", "component restarts by health escalation"),
            TlmField("unhealthy", FieldType.U16, "", "components not HEALTHY now"),
            TlmField("watchdog_strokes", FieldType.U32, "", "watchdog strokes"),
            TlmField("bus_drops", FieldType.U32, "", "software-bus subscriber drops"),
        ),
        events=(
            EventDef(
                1,
                "cycle_slip",
                Severity.LOW,
                "tick {tick} took {took_us:.0f} us > {period_us:.0f} us",
            ),
            EventDef(2, "step_exception", Severity.MEDIUM, "{component} raised {error}"),
            EventDef(3, "ping_missed", Severity.LOW, "{component} missed ping ({misses} in a row)"),
            EventDef(
                4, "component_restarted", Severity.MEDIUM, "{component} restarted ({restarts})"
            ),
            EventDef(
                5, "component_failed", Severity.HIGH, "{component} failed; watchdog stroking stops"
            ),
            EventDef(6, "lifecycle_error", Severity.HIGH, "{component} {phase} raised {error}"),
            EventDef(7, "params_fallback", Severity.MEDIUM, "parameters from {source}: {problems}"),
            EventDef(8, "boot", Severity.INFO, "boot {count}: native={native} {kernels}"),
            EventDef(9, "watchdog_error", Severity.HIGH, "watchdog kick failed: {error}"),
            EventDef(10, "reset", Severity.HIGH, "flight computer reset ({reason})"),
            EventDef(
                11,
                "params_write_failed",
                Severity.MEDIUM,
                "parameter file not written ({failures} failures): {error}",
            ),
        ),
    )


class Executive:
    """Runs components in rate groups off a base tick, in simulated or real time.

    ``timer`` measures the onboard cost of work (ns, monotonic), which judges cycle slips and
    feeds the housekeeping; it defaults to :func:`flight.core.execution_timer` of ``clock``
    (the performance counter in real time, zero cost in simulated time). ``wall_timer``
    measures the host's time for the reports (default: the performance counter).
    """

    def __init__(
        self,
        clock: Clock,
        base_hz: float = 10.0,
        *,
        bus: SoftwareBus | None = None,
        events: EventLog | None = None,
        params: ParamStore | None = None,
        watchdog: Watchdog | None = None,
        ping_period_s: float = 1.0,
        ping_misses_to_escalate: int = 3,
        max_restarts: int = 2,
        timer: Callable[[], int] | None = None,
        wall_timer: Callable[[], int] = perf_counter_ns,
    ) -> None:
        if base_hz <= 0:
            raise ConfigError(f"base_hz must be > 0, got {base_hz}")
        period_ns = NS_PER_S / base_hz
        if abs(period_ns - round(period_ns)) > 1e-6:
            raise ConfigError(f"base_hz={base_hz} does not give a whole-ns period")
        self.clock = clock
        self.base_hz = float(base_hz)
        self.period_ns = round(period_ns)
        self.bus = bus if bus is not None else SoftwareBus()
        self.events = events if events is not None else EventLog(clock)
        self.params = params if params is not None else ParamStore()
        self.watchdog = watchdog
        self._timer = timer if timer is not None else execution_timer(clock)
        self._wall = wall_timer
        self.ping_every = max(1, round(ping_period_s * base_hz))
        self.ping_misses_to_escalate = ping_misses_to_escalate
        self.max_restarts = max_restarts
        self.components: list[Component] = []
        self.stats: dict[str, ComponentStats] = {}
        self._by_id: dict[int, Component] = {}
        self._divisors: list[int] = []  # per component, in run order
        # Run lists per tick phase: tick n runs _schedule[n % len(_schedule)] (built lazily).
        self._schedule: list[list[tuple[Component, ComponentStats]]] = []
        self._tick_hooks: list[Callable[[int], None]] = []
        self.tick_count = 0
        self.cycle_slips = 0
        self.wall_overruns = 0  #: ticks whose host time exceeded the base period
        self.watchdog_strokes = 0
        self.hook_errors = 0
        self.started = False
        self._t0_ns = clock.now_ns()
        self.monitor = ExecutiveMonitor("exec", 1)
        self.add(self.monitor, base_hz)
        # A parameter file that cannot be written is an event (the store counts it).
        self.params.add_write_listener(
            lambda error: self.monitor.emit(
                "params_write_failed", failures=self.params.write_failures, error=error
            )
        )

    # -- composition ------------------------------------------------------------------------
    def add(self, component: Component, rate_hz: float) -> None:
        """Add ``component`` to the rate group of ``rate_hz`` (must divide the base rate)."""
        if self.started:
            raise ConfigError("components must be added before start()")
        if component.component_id in self._by_id:
            other = self._by_id[component.component_id].name
            raise ConfigError(f"component id {component.component_id} used by {other!r}")
        if component.name in self.stats:
            raise ConfigError(f"component name {component.name!r} used twice")
        if rate_hz <= 0 or rate_hz > self.base_hz:
            raise ConfigError(f"{component.name}: rate {rate_hz} Hz outside (0, {self.base_hz}]")
        divisor_f = self.base_hz / rate_hz
        divisor = round(divisor_f)
        if abs(divisor_f - divisor) > 1e-9:
            raise ConfigError(
                f"{component.name}: rate {rate_hz} Hz does not divide the base {self.base_hz} Hz"
            )
        component.attach(self.clock, self.bus, self.events, self.params)
        self.components.append(component)
        self._by_id[component.component_id] = component
        self.stats[component.name] = ComponentStats(rate_hz, divisor)
        self._divisors.append(divisor)
        self._schedule = []

    def add_tick_hook(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(t_ns)`` at the start of every tick, before any component (the plant)."""
        self._tick_hooks.append(hook)

    def component(self, component_id: int) -> Component | None:
        """The component with this id, or None."""
        return self._by_id.get(component_id)

    def by_name(self, name: str) -> Component | None:
        """The component with this name, or None."""
        for c in self.components:
            if c.name == name:
                return c
        return None

    @property
    def rate_groups(self) -> list[tuple[float, list[str]]]:
        """(rate in Hz, component names in run order) for each group, fastest first."""
        groups: dict[int, list[str]] = {}
        for comp, d in zip(self.components, self._divisors, strict=True):
            groups.setdefault(d, []).append(comp.name)
        return [(self.base_hz / d, groups[d]) for d in sorted(groups)]

    @property
    def run_order(self) -> list[str]:
        """Component names in the order they run inside a tick (when due)."""
        return [c.name for c in self.components]

    def _build_schedule(self) -> list[list[tuple[Component, ComponentStats]]]:
        """One run list per tick phase over the least common multiple of the divisors
        (capped: beyond 10,000 phases the due check is made per tick instead)."""
        period = 1
        for d in self._divisors:
            period = math.lcm(period, d)
            if period > 10_000:
                return []
        return [
            [
                (c, self.stats[c.name])
                for c, d in zip(self.components, self._divisors, strict=True)
                if phase % d == 0
            ]
            for phase in range(period)
        ]

    # -- lifecycle --------------------------------------------------------------------------
    def _lifecycle(self, component: Component, phase: str) -> bool:
        try:
            getattr(component, phase)()
            return True
        except Exception as exc:
            self.stats[component.name].exceptions += 1
            self.monitor.emit(
                "lifecycle_error", component=component.name, phase=phase, error=repr(exc)
            )
            return False

    def start(self) -> None:
        """Init then start every component, in order. A failing component is reported."""
        if self.started:
            return
        for c in self.components:
            self._lifecycle(c, "on_boot")
        for c in self.components:
            self._lifecycle(c, "on_init")
        for c in self.components:
            self._lifecycle(c, "on_start")
        self.started = True
        self._t0_ns = self.clock.now_ns()

    def stop(self) -> None:
        """Stop every component in reverse order."""
        for c in reversed(self.components):
            self._lifecycle(c, "on_stop")
        self.started = False

    def reset(self) -> None:
        """What a processor reset does to the executive: every component stops, health
        bookkeeping starts afresh (execution statistics are kept for the run's report), and
        the next tick starts everything again (init, start)."""
        if self.started:
            self.stop()
        for st in self.stats.values():
            st.health = Health.HEALTHY
            st.consecutive_misses = 0
            st.restarts = 0
            st.steps_at_last_ping = st.steps
            st.skip_next_ping = True  # a slow group may not have stepped yet since the reset

    # -- running ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Run one base tick at the current clock time (does not move the clock)."""
        if not self.started:
            self.start()
        timer = self._timer
        wall = self._wall
        t_ns = self.clock.now_ns()
        n = self.tick_count
        tick_start = timer()
        wall_start = wall()
        for hook in self._tick_hooks:
            try:
                hook(t_ns)
            except Exception as exc:  # the plant or a device bus: reported, never fatal
                self.hook_errors += 1
                self.monitor.emit("step_exception", component="tick_hook", error=repr(exc))
        if not self._schedule:
            self._schedule = self._build_schedule()
        if self._schedule:
            due = self._schedule[n % len(self._schedule)]
        else:
            due = [
                (c, self.stats[c.name])
                for c, d in zip(self.components, self._divisors, strict=True)
                if n % d == 0
            ]
        for comp, st in due:
            t0 = timer()
            w0 = wall()
            try:
                comp.step(t_ns)
            except Exception as exc:
                st.exceptions += 1
                self.monitor.emit("step_exception", component=comp.name, error=repr(exc))
            else:
                st.steps += 1
            dw = wall() - w0
            dt = timer() - t0
            st.total_ns += dt
            st.last_ns = dt
            if dt > st.max_ns:
                st.max_ns = dt
            st.wall_total_ns += dw
            if dw > st.wall_max_ns:
                st.wall_max_ns = dw
        if n % self.ping_every == self.ping_every - 1:
            self._ping_round()
        took_wall = wall() - wall_start
        took = timer() - tick_start
        if took_wall > self.period_ns:
            self.wall_overruns += 1
        self.tick_count = n + 1
        hk = self.monitor.hk
        hk.tick_count = self.tick_count
        hk.last_tick_us = took / 1e3
        if hk.last_tick_us > hk.max_tick_us:
            hk.max_tick_us = hk.last_tick_us
        if took > self.period_ns:
            self._slip(n, took)

    def _slip(self, tick: int, took_ns: int) -> None:
        self.cycle_slips += 1
        self.monitor.hk.cycle_slips = self.cycle_slips
        self.monitor.emit(
            "cycle_slip", tick=tick, took_us=took_ns / 1e3, period_us=self.period_ns / 1e3
        )

    def _ping_round(self) -> None:
        """Judge each component's health; stroke the watchdog unless one has FAILED."""
        for comp in self.components:
            st = self.stats[comp.name]
            if st.health is Health.FAILED:
                continue
            # A component must have completed at least one step per ping period of its own
            # rate (slow groups get a ping period of at least one of their steps).
            window = max(self.ping_every, st.divisor)
            if (self.tick_count + 1) % window:
                continue
            stepped = st.steps > st.steps_at_last_ping
            st.steps_at_last_ping = st.steps
            if st.skip_next_ping:
                st.skip_next_ping = False
                continue
            try:
                answered = stepped and bool(comp.health_check())
            except Exception:
                answered = False
            if answered:
                st.consecutive_misses = 0
                st.health = Health.HEALTHY
                continue
            st.ping_misses += 1
            st.consecutive_misses += 1
            st.health = Health.WARNING
            self.monitor.emit("ping_missed", component=comp.name, misses=st.consecutive_misses)
            if st.consecutive_misses >= self.ping_misses_to_escalate:
                self._escalate(comp, st)
        hk = self.monitor.hk
        hk.exceptions = sum(s.exceptions for s in self.stats.values())
        hk.ping_misses = sum(s.ping_misses for s in self.stats.values())
        hk.restarts = sum(s.restarts for s in self.stats.values())
        hk.unhealthy = sum(s.health is not Health.HEALTHY for s in self.stats.values())
        hk.bus_drops = sum(self.bus.drops().values())
        none_failed = all(s.health is not Health.FAILED for s in self.stats.values())
        if none_failed and self.watchdog is not None:
            try:
                self.watchdog.kick()
            except SatnodeError as exc:  # not armed, or already expired: report, go on
                self.monitor.emit("watchdog_error", error=str(exc))
            else:
                self.watchdog_strokes += 1
                hk.watchdog_strokes = self.watchdog_strokes

    def _escalate(self, comp: Component, st: ComponentStats) -> None:
        if st.restarts >= self.max_restarts:
            st.health = Health.FAILED
            self.monitor.emit("component_failed", component=comp.name)
            return
        st.restarts += 1
        st.consecutive_misses = 0
        self._lifecycle(comp, "on_stop")
        ok = self._lifecycle(comp, "on_init") and self._lifecycle(comp, "on_start")
        self.monitor.emit("component_restarted", component=comp.name, restarts=st.restarts)
        if not ok:
            st.health = Health.WARNING

    def run_for(self, duration_ns: int, stop: Callable[[], bool] | None = None) -> int:
        """Run ticks for ``duration_ns`` of onboard time; returns the number of ticks run.

        Simulated clock: runs as fast as possible, advancing the clock one period per tick.
        Real-time clock: waits for each tick's deadline; overruns are cycle slips.
        ``stop()`` is polled after every tick and ends the run early when True.
        """
        if not self.started:
            self.start()
        end = self.clock.now_ns() + duration_ns
        ticks = 0
        clock = self.clock
        period = self.period_ns
        if not clock.realtime:
            advance = clock.advance  # type: ignore[attr-defined]
            while clock.now_ns() < end:
                self.tick()
                advance(period)
                ticks += 1
                if stop is not None and stop():
                    break
            return ticks
        deadline = clock.now_ns()
        while deadline < end:
            clock.wait_until(deadline)
            self.tick()
            ticks += 1
            deadline += period
            now = clock.now_ns()
            if now > deadline:
                # Late: skip the missed deadlines rather than bursting to catch up.
                deadline += ((now - deadline) // period + 1) * period
            if stop is not None and stop():
                return ticks
        clock.wait_until(end)
        return ticks
