"""Time in satnode: integer nanoseconds, and the clocks that tell it.

Flight code never calls ``time.time()`` or ``time.monotonic()``: it is handed a :class:`Clock`.
This module is the one place in ``flight`` that touches the operating system's timers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = [
    "NS_PER_MS",
    "NS_PER_S",
    "NS_PER_US",
    "Clock",
    "MonotonicClock",
    "PacedClock",
    "SimClock",
    "execution_timer",
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


def _zero_cost() -> int:
    return 0


def execution_timer(clock: Clock) -> Callable[[], int]:
    """The counter (ns) that measures the onboard cost of a piece of work on ``clock``.

    On a real-time clock the work's cost is the time this computer spent on it (the
    performance counter). In simulated time onboard time moves only when the executive
    advances it, so work inside a tick costs zero onboard time: the counter is constant.
    Budgets (cycle slips, CPU shares) judged with it therefore never depend on how fast or
    how loaded the host is, which keeps simulated runs reproducible; the host's wall time
    is measured separately (:func:`perf_counter_ns`) and reported as such.
    """
    return perf_counter_ns if clock.realtime else _zero_cost


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
            raise ValueError(f"{type(self).__name__} cannot go backwards (dt_ns={dt_ns})")
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


class PacedClock(SimClock):
    """Simulated time paced against the host's clock at ``speed`` times real time.

    Time is simulated (``realtime`` is False): it moves only when the executive advances it,
    one whole tick at a time, so a paced run computes exactly what an unpaced run with the
    same seed computes. :meth:`advance` then sleeps until the host's monotonic clock has
    caught up with the new onboard time divided by ``speed``. The pacing starts at the first
    :meth:`advance` (the end of the first tick), not at construction, so boot and kernel
    warm-up never eat into the run. When the host falls behind by more than
    ``max_lag_ns`` of onboard time the pacing re-anchors instead of bursting to catch up;
    each such event is counted in :attr:`overruns` (a wall-clock measure, never telemetry).

    Invariant: time never goes backwards (``ValueError``); ``speed`` is finite and > 0.
    """

    __slots__ = ("_anchor_t_ns", "_anchor_wall_ns", "max_lag_ns", "overruns", "speed")

    def __init__(self, speed: float = 1.0, start_ns: int = 0, max_lag_ns: int = NS_PER_S) -> None:
        if not (isinstance(speed, (int, float)) and math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
        if max_lag_ns <= 0:
            raise ValueError(f"max_lag_ns must be > 0, got {max_lag_ns!r}")
        super().__init__(start_ns)
        self.speed = float(speed)
        self.max_lag_ns = int(max_lag_ns)
        self._anchor_t_ns = self._t_ns
        self._anchor_wall_ns: int | None = None  # set by the first advance
        self.overruns = 0

    def advance(self, dt_ns: int) -> None:
        """Move time forward by ``dt_ns`` >= 0 (as :class:`SimClock`), then wait until the
        host has caught up."""
        wall = time.monotonic_ns()
        t0_ns = self._t_ns
        super().advance(dt_ns)
        if self._anchor_wall_ns is None:
            self._anchor_wall_ns, self._anchor_t_ns = wall, t0_ns
        due = self._anchor_wall_ns + round((self._t_ns - self._anchor_t_ns) / self.speed)
        lag_ns = (wall - due) * self.speed  # onboard time the host is behind
        if lag_ns > self.max_lag_ns:
            self.overruns += 1
            self._anchor_wall_ns, self._anchor_t_ns = wall, self._t_ns
        elif due > wall:
            time.sleep((due - wall) / NS_PER_S)

    def wait_until(self, t_ns: int) -> None:
        """Advance to ``t_ns`` if it lies in the future (paced)."""
        if t_ns > self._t_ns:
            self.advance(t_ns - self._t_ns)
