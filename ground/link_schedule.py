"""The laser-link schedule of a constellation: who points at whom, slot by slot.

An optical link needs both terminals pointed at each other (:mod:`hal.sim.laser`), and a
node has one terminal, so the links of a constellation at any moment form a *matching*:
each node linked to at most one other. Left to choose on their own, neighbours rarely pick
each other (A turns to B while B turns to C). As in operated constellations, the ground plans
the link topology and uploads it: each node's ``[isl] link_schedule`` names its peer in
successive slots of ``schedule_slot_s``, and both ends of every link carry the same slot.

The schedule covers one orbital period in whole slots (the slot is the period divided by a
whole number, near :data:`TARGET_SLOT_S`) and then repeats. In each slot the planner keeps
the candidate pairs that are in contact (line of sight above the grazing height, range within
the limit) at the slot's middle and at its start or end (at least about half the slot; the
node's contact plan has the exact window), on the analytic J2 propagation of their
elements, and builds a maximal matching greedily in a pseudo-random order drawn per slot from
the pair's names (CRC-32), so that over the slots every neighbour pair gets its turn and the
topology changes from slot to slot (bundles travel across it by store and forward). Candidates
are each node's nearest neighbours (its ``isl`` peers).

Pure function of the elements and names: the same constellation gives the same schedule in
every process.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from flight.isl import visible
from native import propagate_j2_batch
from native.constants import MU_EARTH_M3_S2

__all__ = ["TARGET_SLOT_S", "LinkSchedule", "plan_link_schedule"]

#: Aimed-for slot length (s): long against an acquisition (~25 s), short against an orbit.
TARGET_SLOT_S = 120.0


@dataclass(frozen=True, slots=True)
class LinkSchedule:
    """Per node, its peer in each slot (``""``: none); ``slot_s`` the slot length (s)."""

    slot_s: float
    peers: dict[str, list[str]]


def _order_key(a: str, b: str, slot: int) -> int:
    lo, hi = (a, b) if a < b else (b, a)
    return zlib.crc32(f"{lo}|{hi}|{slot}".encode())


def plan_link_schedule(
    names: Sequence[str],
    elements: np.ndarray,
    candidates: Mapping[str, Sequence[str]],
    *,
    grazing_height_m: float,
    max_range_m: float,
    target_slot_s: float = TARGET_SLOT_S,
) -> LinkSchedule:
    """The link schedule of nodes ``names`` with elements ``(N, 6)`` (a, e, i, raan, argp, M
    at onboard time 0) over one period of the first orbit; ``candidates``: the nodes each
    may link to (the relation is made symmetric). See the module doc."""
    if not target_slot_s > 0:
        raise ValueError(f"target_slot_s must be > 0, got {target_slot_s}")
    el = np.ascontiguousarray(elements, dtype=np.float64)
    period_s = 2.0 * math.pi * math.sqrt(float(el[0, 0]) ** 3 / MU_EARTH_M3_S2)
    n_slots = max(1, round(period_s / target_slot_s))
    slot_s = period_s / n_slots
    index = {n: k for k, n in enumerate(names)}
    pairs = sorted(
        {(min(index[a], index[b]), max(index[a], index[b]))
         for a, near in candidates.items() for b in near if a != b}
    )  # fmt: skip
    peers: dict[str, list[str]] = {n: [""] * n_slots for n in names}
    if not pairs:
        return LinkSchedule(slot_s, peers)
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    times = np.array([(k + f) * slot_s for k in range(n_slots) for f in (0.0, 0.5, 1.0)])
    pos = propagate_j2_batch(el, times, positions_only=True)  # (N, 3 n_slots, 3)
    for k in range(n_slots):
        start, mid, end = (
            visible(pos[i, s], pos[j, s], grazing_height_m, max_range_m)
            for s in range(3 * k, 3 * k + 3)
        )
        ok = mid & (start | end)
        live = [(names[i[m]], names[j[m]]) for m in np.flatnonzero(ok)]
        live.sort(key=lambda ab: (_order_key(ab[0], ab[1], k), ab))
        for a, b in live:
            if not peers[a][k] and not peers[b][k]:
                peers[a][k], peers[b][k] = b, a
    return LinkSchedule(slot_s, peers)
