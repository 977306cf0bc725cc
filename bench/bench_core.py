"""Executive overhead per component step (goal <= 5 us), and the whole-tick cost.

Runs an executive with N trivial components at the base rate for a number of ticks, and
subtracts the cost of calling the same trivial ``step`` methods in a bare Python loop (the
peer: what the work costs with no framework at all). Prints medians over repeats.

    python bench/bench_core.py [--quick] [--json FILE]
"""

from __future__ import annotations

import sys

from flight.core import Component, Executive, SimClock
from ground.bench import BenchRecord, bench_main, median_seconds


class Trivial(Component):
    """A component whose step does one attribute write."""

    def step(self, t_ns: int) -> None:
        self.hk_value = t_ns


def run(quick: bool = False) -> list[BenchRecord]:
    """Executive overhead records."""
    n_components = 20
    ticks = 500 if quick else 5000
    repeats = 3 if quick else 7

    def with_executive() -> None:
        clock = SimClock()
        ex = Executive(clock, 10.0)
        for i in range(n_components):
            ex.add(Trivial(f"c{i}", 10 + i), 10.0)
        ex.start()
        for _ in range(ticks):
            ex.tick()
            clock.advance(ex.period_ns)

    comps = [Trivial(f"c{i}", 10 + i) for i in range(n_components)]

    def bare_loop() -> None:
        t = 0
        for _ in range(ticks):
            for c in comps:
                c.step(t)
            t += 100_000_000

    t_exec = median_seconds(with_executive, repeats=repeats)
    t_bare = median_seconds(bare_loop, repeats=repeats)
    steps = ticks * (n_components + 1)  # + the executive's own monitor component
    overhead_us = (t_exec - t_bare * (n_components + 1) / n_components) / steps * 1e6
    per_tick_us = t_exec / ticks * 1e6
    return [
        BenchRecord(
            "executive overhead per component step",
            overhead_us,
            "us",
            "bare Python call loop",
            t_bare / (ticks * n_components) * 1e6,
            None,
            f"goal <= 5 us; {n_components} components at 10 Hz, {ticks} ticks",
        ),
        BenchRecord(
            "executive tick, 20 components",
            per_tick_us,
            "us",
            None,
            None,
            None,
            "includes ping rounds and statistics",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``--quick``, ``--json FILE``)."""
    return bench_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
