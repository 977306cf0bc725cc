"""The node's topology from the application registry: which apps, in which order.

One order serves both installation and the run inside a tick: an application comes after
every application that provides a service it requires, and after every producer of a bus
topic it consumes (``feedback`` topics excepted: they are read one tick late on purpose).
Ties keep the registry's order, so the result is deterministic. A cycle is a registry error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flight.core import AppSpec
from native.errors import ConfigError

__all__ = ["dataflow_order", "dependencies"]


def dependencies(specs: Sequence[AppSpec]) -> dict[str, set[str]]:
    """For each app section, the sections that must come before it (among ``specs``)."""
    producers: dict[str, set[str]] = {}
    providers: dict[str, str] = {}
    for spec in specs:
        for topic in spec.publishes:
            producers.setdefault(topic, set()).add(spec.section)
        for service in spec.provides:
            if service in providers:
                raise ConfigError(
                    f"service {service!r} provided by both [{providers[service]}] "
                    f"and [{spec.section}]"
                )
            providers[service] = spec.section
    before: dict[str, set[str]] = {}
    for spec in specs:
        deps: set[str] = set()
        for topic in spec.consumes:
            deps |= producers.get(topic, set())
        for service in spec.requires:
            if service in providers:
                deps.add(providers[service])
        deps.discard(spec.section)
        before[spec.section] = deps
    return before


def dataflow_order(specs: Iterable[AppSpec]) -> list[AppSpec]:
    """``specs`` sorted so that producers and providers come first (stable, deterministic)."""
    pending = list(specs)
    before = dependencies(pending)
    placed: set[str] = set()
    order: list[AppSpec] = []
    while pending:
        for i, spec in enumerate(pending):
            if before[spec.section] <= placed:
                order.append(spec)
                placed.add(spec.section)
                del pending[i]
                break
        else:
            cycle = ", ".join(f"[{s.section}] after {sorted(before[s.section])}" for s in pending)
            raise ConfigError(
                f"the application registry has a data-flow cycle: {cycle}; mark one topic "
                "as feedback"
            )
    return order
