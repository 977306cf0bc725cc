"""Contact-graph routing: the earliest arrival of a bundle over a plan of contacts.

A :class:`Contact` is a window in which two nodes can exchange data at a rate, with a one-way
light time. The route of a bundle of ``size`` octets from ``source`` at ``t0`` is found by
Dijkstra's algorithm over nodes with time labels (contact graph routing as in ION, in its
node-label form): from node ``u`` reached at ``t``, a contact ``(u, v, start, end)`` that is
still open carries the bundle from ``max(t, start)``; it arrives at ``v`` after the
transmission time ``8 size / rate`` and the light time, provided the transmission ends
before the contact does. Waiting at a node is allowed (store and forward), so labels only
improve and the first label a node is settled with is its earliest arrival.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Contact",
    "Edge",
    "Route",
    "earliest_arrival",
    "earliest_arrivals",
    "earliest_arrivals_indexed",
    "edge_index",
    "transmission_ns",
]


@dataclass(frozen=True, slots=True)
class Contact:
    """Nodes ``a`` and ``b`` can talk (both ways) from ``start_ns`` to ``end_ns``."""

    a: str
    b: str
    start_ns: int
    end_ns: int
    rate_bps: float  #: data rate during the contact (bit/s)
    owlt_ns: int = 0  #: one-way light time (ns)

    def other(self, node: str) -> str:
        """The node at the other end from ``node``."""
        return self.b if node == self.a else self.a


@dataclass(frozen=True, slots=True)
class Route:
    """The earliest-arrival route of a bundle: the neighbour to hand it to, when it arrives
    at the destination (onboard ns) and over how many hops."""

    next_hop: str
    arrival_ns: int
    hops: int


def _index(contacts: Iterable[Contact]) -> dict[str, list[Contact]]:
    idx: dict[str, list[Contact]] = {}
    for c in contacts:
        idx.setdefault(c.a, []).append(c)
        idx.setdefault(c.b, []).append(c)
    return idx


def transmission_ns(size_bytes: int, rate_bps: float) -> int:
    """Time (ns, rounded up) to send ``size_bytes`` at ``rate_bps``; -1 when the rate is not
    positive. Exact for whole-number rates (integer arithmetic: a float quotient can round
    up a whole number of ns to the next one)."""
    if not rate_bps > 0:
        return -1
    bits_ns = 8 * size_bytes * 1_000_000_000
    if rate_bps == int(rate_bps):
        return -(-bits_ns // int(rate_bps))
    return math.ceil(bits_ns / rate_bps)


def earliest_arrival(
    contacts: Iterable[Contact] | Mapping[str, list[Contact]],
    source: str,
    destination: str,
    t0_ns: int,
    size_bytes: int,
    *,
    exclude: Iterable[str] = (),
    max_hops: int = 16,
) -> Route | None:
    """The earliest-arrival :class:`Route`, or None when the
    contacts do not reach ``destination``. ``exclude``: nodes the route may not pass
    through (e.g. a neighbour that refused custody). ``max_hops`` bounds the route length."""
    if source == destination:
        return Route(destination, t0_ns, 0)
    return _dijkstra(contacts, source, destination, t0_ns, size_bytes, exclude, max_hops).get(
        destination
    )


def earliest_arrivals(
    contacts: Iterable[Contact] | Mapping[str, list[Contact]],
    source: str,
    t0_ns: int,
    size_bytes: int,
    *,
    exclude: Iterable[str] = (),
    max_hops: int = 16,
) -> dict[str, Route]:
    """The earliest-arrival :class:`Route` from ``source`` to every node it reaches (one
    search for all destinations; each route is the one :func:`earliest_arrival` gives)."""
    return _dijkstra(contacts, source, None, t0_ns, size_bytes, exclude, max_hops)


#: A contact seen from one of its nodes: (other node, start_ns, end_ns, rate_bps, owlt_ns).
Edge = tuple[str, int, int, float, int]


def edge_index(contacts: Iterable[Contact] | Mapping[str, list[Contact]]) -> dict[str, list[Edge]]:
    """Each node's contacts as :data:`Edge` tuples, in the contacts' order (what the search
    walks; a caller that asks many questions of one plan builds it once)."""
    idx = contacts if isinstance(contacts, Mapping) else _index(contacts)
    return {
        u: [(c.b if u == c.a else c.a, c.start_ns, c.end_ns, c.rate_bps, c.owlt_ns) for c in cs]
        for u, cs in idx.items()
    }


def earliest_arrivals_indexed(
    edges: Mapping[str, Sequence[Edge]],
    source: str,
    t0_ns: int,
    size_bytes: int,
    *,
    exclude: Iterable[str] = (),
    max_hops: int = 16,
) -> dict[str, Route]:
    """:func:`earliest_arrivals` over a prepared :func:`edge_index`."""
    return _search(edges, source, None, t0_ns, size_bytes, exclude, max_hops)


def _dijkstra(
    contacts: Iterable[Contact] | Mapping[str, list[Contact]],
    source: str,
    destination: str | None,
    t0_ns: int,
    size_bytes: int,
    exclude: Iterable[str],
    max_hops: int,
) -> dict[str, Route]:
    return _search(edge_index(contacts), source, destination, t0_ns, size_bytes, exclude,
                   max_hops)  # fmt: skip


def _search(
    edges: Mapping[str, Sequence[Edge]],
    source: str,
    destination: str | None,
    t0_ns: int,
    size_bytes: int,
    exclude: Iterable[str],
    max_hops: int,
) -> dict[str, Route]:
    """Settled routes from ``source`` (stopping once ``destination`` is settled, if given).
    Labels settle in the same order either way, so a destination's route does not depend
    on whether the search stopped there."""
    banned = set(exclude)
    tx_cache: dict[float, int] = {}
    best: dict[str, int] = {source: t0_ns}
    first: dict[str, str] = {}
    heap: list[tuple[int, int, str]] = [(t0_ns, 0, source)]
    settled: dict[str, Route] = {}
    push, pop, inf = heapq.heappush, heapq.heappop, math.inf
    while heap:
        t, h, u = pop(heap)
        if u in settled:
            continue
        settled[u] = Route(first.get(u, u), t, h)
        if u == destination:
            break
        if h >= max_hops:
            continue
        via = u if u == source else first[u]
        for v, c_start, c_end, rate, owlt in edges.get(u, ()):
            if v in settled or v in banned:
                continue
            tx_ns = tx_cache.get(rate)
            if tx_ns is None:
                tx_ns = tx_cache[rate] = transmission_ns(size_bytes, rate)
            done = (t if t > c_start else c_start) + tx_ns
            if tx_ns < 0 or done > c_end:
                continue
            arrive = done + owlt
            if arrive < best.get(v, inf):
                best[v] = arrive
                first[v] = v if u == source else via
                push(heap, (arrive, h + 1, v))
    settled.pop(source, None)
    return settled
