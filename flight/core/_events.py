"""The event log: PUS-5 severities, per-event throttling, and sinks (the TM downlink).

An event is declared once (:class:`~flight.core.EventDef`) and emitted by name from its
component. The log keeps a bounded history, counts by severity, and throttles each event
separately: at most ``burst`` records per ``window_ns`` for one (component, event) pair. The
next record after a throttled stretch carries how many were suppressed, so nothing is lost
silently.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flight.core._declare import EventDef, Severity
from flight.core._time import NS_PER_S, Clock

__all__ = ["EventLog", "EventRecord"]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One emitted event. ``wire_id`` = component_id * 256 + event id (PUS-5 event id)."""

    t_ns: int
    component_id: int
    component: str
    event_id: int
    name: str
    severity: Severity
    message: str
    suppressed_before: int = 0

    @property
    def wire_id(self) -> int:
        """16-bit event identifier used in PUS-5 reports."""
        return (self.component_id << 8) | self.event_id


class _Throttle:
    __slots__ = ("count", "suppressed", "window_start_ns")

    def __init__(self) -> None:
        self.window_start_ns = -1
        self.count = 0
        self.suppressed = 0


class EventLog:
    """Bounded event history with per-event throttling and sinks.

    ``burst`` records of one event pass per ``window_s`` seconds; the rest are counted in
    ``throttled_total`` and reported on the next record that passes.
    """

    def __init__(
        self,
        clock: Clock,
        capacity: int = 2048,
        burst: int = 5,
        window_s: float = 10.0,
    ) -> None:
        if capacity < 1 or burst < 1 or window_s <= 0:
            raise ValueError("capacity and burst must be >= 1, window_s > 0")
        self._clock = clock
        self._history: deque[EventRecord] = deque(maxlen=capacity)
        self._burst = burst
        self._window_ns = round(window_s * NS_PER_S)
        self._throttles: dict[tuple[int, int], _Throttle] = {}
        self._sinks: list[Callable[[EventRecord], None]] = []
        self.throttled_total = 0
        self.sink_errors = 0
        self.counts: dict[Severity, int] = dict.fromkeys(Severity, 0)

    def add_sink(self, sink: Callable[[EventRecord], None]) -> None:
        """Call ``sink(record)`` for every record that passes the throttle."""
        self._sinks.append(sink)

    def emit(
        self,
        component_id: int,
        component: str,
        event: EventDef,
        args: Mapping[str, object],
    ) -> EventRecord | None:
        """Format and record ``event``; return the record, or None when throttled.

        A template that cannot be formatted with ``args`` still produces a record (the
        message says so) rather than raising inside flight code.
        """
        now = self._clock.now_ns()
        key = (component_id, event.id)
        th = self._throttles.get(key)
        if th is None:
            th = self._throttles[key] = _Throttle()
        if th.window_start_ns < 0 or now - th.window_start_ns >= self._window_ns:
            th.window_start_ns = now
            th.count = 0
        if th.count >= self._burst:
            th.suppressed += 1
            self.throttled_total += 1
            return None
        th.count += 1
        try:
            message = event.template.format(**args)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            message = f"{event.template} [format error: {exc!r}; args={dict(args)!r}]"
        record = EventRecord(
            now,
            component_id,
            component,
            event.id,
            event.name,
            event.severity,
            message,
            th.suppressed,
        )
        th.suppressed = 0
        self._history.append(record)
        self.counts[event.severity] += 1
        for sink in self._sinks:
            try:
                sink(record)
            except Exception:  # a failing downlink must not take the event (or caller) down
                self.sink_errors += 1
        return record

    def history(self) -> tuple[EventRecord, ...]:
        """Recorded events, oldest first (bounded by ``capacity``)."""
        return tuple(self._history)

    def find(self, name: str) -> list[EventRecord]:
        """Recorded events with this event name (for tests and reports)."""
        return [r for r in self._history if r.name == name]
