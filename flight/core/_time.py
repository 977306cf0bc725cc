"""Time in satnode: integer nanoseconds, and the clocks that tell it.

Flight code never calls ``time.time()`` or ``time.monotonic()``: it is handed a :class:`Clock`.
This module is the one place in ``flight`` that touches the operating system's timers.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = [
    "NS_PER_MS",
    "NS_PER_S",
    "NS_PER_US",
    "Clock",
    "MonotonicClock",
    "SimClock",
    "perf_counter_ns",
    "seconds_to_ns",
]

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def seconds_to_ns(seconds: float) -> int:
    """Convert seconds (float) to integer nanoseconds, rounding to the nearest ns."""
    return round(seconds * NS_PER_S)


def perf_counter_ns() -> int:
    """Monotonic high-resolution counter (ns) used to measure execution time, not to tell time."""
    return time.perf_counter_ns()


@runtime_checkable
class Clock(Protocol):
    """Source of onboard time, integer nanoseconds since the clock's epoch."""

    def now_ns(self) -> int:
        """Current onboard time in ns."""
        ...

    @property
    def realtime(self) -> bool:
        """True when time passes on its own (the executive must wait for it)."""
        ...

    def wait_until(self, t_ns: int) -> None:
        """Block until ``now_ns() >= t_ns`` (a simulated clock jumps there)."""
        ...


class SimClock:
    """Simulated clock: time moves only when the executive advances it.

    Invariant: time never goes backwards (advancing to the past raises ``ValueError``).
    """

    __slots__ = ("_t_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self._t_ns = int(start_ns)

    def now_ns(self) -> int:
        """Current simulated time in ns."""
        return self._t_ns

    @property
    def realtime(self) -> bool:
        """Always False: simulated time runs as fast as the computer allows."""
        return False

    def advance(self, dt_ns: int) -> None:
        """Move time forward by ``dt_ns`` >= 0."""
        if dt_ns < 0:
            raise ValueError(f"SimClock cannot go backwards (dt_ns={dt_ns})")
        self._t_ns += dt_ns

    def wait_until(self, t_ns: int) -> None:
        """Jump to ``t_ns`` if it lies in the future."""
        if t_ns > self._t_ns:
            self._t_ns = t_ns


class MonotonicClock:
    """Real-time clock over the OS monotonic clock, with its epoch at construction."""

    __slots__ = ("_origin_ns",)

    def __init__(self) -> None:
        self._origin_ns = time.monotonic_ns()

    def now_ns(self) -> int:
        """Nanoseconds since this clock was created."""
        return time.monotonic_ns() - self._origin_ns

    @property
    def realtime(self) -> bool:
        """Always True."""
        return True

    def wait_until(self, t_ns: int) -> None:
        """Sleep until ``t_ns`` (returns at once if it has passed)."""
        remaining = t_ns - self.now_ns()
        if remaining > 0:
            time.sleep(remaining / NS_PER_S)
