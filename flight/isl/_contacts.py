"""Contact planning from ephemerides.

Every node known to the catalogue (its own estimate, states received from neighbours over
the links, catalogue uploads from the ground) has :class:`OrbitElements` at an epoch. The
planner propagates them all together with the native analytic J2 kernel
(:func:`native.propagate_j2_batch`) on a time grid, and finds for every pair the windows in
which

- the line between the two spacecraft clears the Earth by ``grazing_height_m`` (the segment
  test: the point of the segment nearest the Earth's centre is farther than
  ``R_E + grazing_height_m``), and
- the range is at most ``max_range_m`` (the terminal's link budget limit).

Window edges found on the grid are refined by bisection to ``tolerance_ns``. The one-way light
time of a contact is taken at its mid-window range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flight.isl._routing import Contact
from hal.laser import SPEED_OF_LIGHT_M_S
from native import elements_to_state, propagate_j2_batch, state_to_elements
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2

__all__ = ["OrbitElements", "plan_contacts", "positions_m", "visible"]


@dataclass(frozen=True, slots=True)
class OrbitElements:
    """Classical elements at onboard time ``epoch_ns``: semi-major axis (m), eccentricity,
    inclination, RAAN, argument of perigee and mean anomaly (rad)."""

    a_m: float
    e: float
    i_rad: float
    raan_rad: float
    argp_rad: float
    mean_anomaly_rad: float
    epoch_ns: int = 0

    def __post_init__(self) -> None:
        vals = (self.a_m, self.e, self.i_rad, self.raan_rad, self.argp_rad,
                self.mean_anomaly_rad)
        if not all(math.isfinite(v) for v in vals):
            raise ValueError("orbit elements must be finite")
        if self.a_m <= EARTH_RADIUS_M * 0.5 or not 0.0 <= self.e < 1.0:
            raise ValueError(f"orbit a_m={self.a_m} e={self.e} is not a bound orbit")

    @classmethod
    def circular(
        cls,
        altitude_m: float,
        inclination_rad: float,
        raan_rad: float,
        arg_lat_rad: float,
        epoch_ns: int = 0,
    ) -> OrbitElements:
        """A circular orbit at ``altitude_m`` above the equatorial radius."""
        return cls(EARTH_RADIUS_M + altitude_m, 0.0, inclination_rad, raan_rad, 0.0,
                   arg_lat_rad, epoch_ns)

    @classmethod
    def from_state(
        cls, r_eci_m: Sequence[float], v_eci_m_s: Sequence[float], epoch_ns: int
    ) -> OrbitElements:
        """Osculating elements of an ECI state (m, m/s) at ``epoch_ns``."""
        el = [float(x) for x in
              state_to_elements(np.array([[*r_eci_m, *v_eci_m_s]], dtype=np.float64))[0]]
        return cls(el[0], el[1], el[2], el[3], el[4], el[5], epoch_ns)

    def as_array(self) -> NDArray[np.float64]:
        """``(a, e, i, raan, argp, M)`` as a float64 array."""
        return np.array([self.a_m, self.e, self.i_rad, self.raan_rad, self.argp_rad,
                         self.mean_anomaly_rad], dtype=np.float64)

    def state(self) -> NDArray[np.float64]:
        """ECI state (6,) at the epoch (two-body), m and m/s."""
        out: NDArray[np.float64] = elements_to_state(self.as_array()[None, :])[0]
        return out

    @property
    def period_s(self) -> float:
        """Keplerian period (s)."""
        return 2.0 * math.pi * math.sqrt(self.a_m**3 / MU_EARTH_M3_S2)


def positions_m(
    elements: OrbitElements, times_ns: NDArray[np.int64], *, j2: bool = True
) -> NDArray[np.float64]:
    """ECI positions (M, 3) of one orbit at onboard ``times_ns`` (analytic J2 propagation)."""
    dt_s = (np.asarray(times_ns, dtype=np.int64) - elements.epoch_ns).astype(np.float64) / 1e9
    pos: NDArray[np.float64] = propagate_j2_batch(
        elements.as_array()[None, :], dt_s, positions_only=True, **({} if j2 else {"j2": 0.0})
    )[0]
    return pos


def visible(
    r1: NDArray[np.float64], r2: NDArray[np.float64], grazing_height_m: float, max_range_m: float
) -> NDArray[np.bool_]:
    """Line of sight and range test for rows of positions (M, 3) (see the module doc)."""
    d = r2 - r1
    dd = np.einsum("ij,ij->i", d, d)
    t = np.clip(-np.einsum("ij,ij->i", r1, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    c = r1 + t[:, None] * d
    clear = np.einsum("ij,ij->i", c, c) > (EARTH_RADIUS_M + grazing_height_m) ** 2
    out: NDArray[np.bool_] = clear & (dd <= max_range_m**2)
    return out


def plan_contacts(
    catalogue: Mapping[str, OrbitElements],
    t0_ns: int,
    horizon_ns: int,
    *,
    step_ns: int = 30_000_000_000,
    tolerance_ns: int = 1_000_000_000,
    grazing_height_m: float = 100e3,
    max_range_m: float = 8.0e6,
    rate_bps: float = 10e9,
    j2: bool = True,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> list[Contact]:
    """Every contact window between catalogue nodes in ``[t0_ns, t0_ns + horizon_ns]``.

    ``pairs`` restricts the pairs planned (default: all). A window open at either end of the
    horizon is clipped to it. Contacts are sorted by start time. ``rate_bps`` is the planned
    data rate of every contact.
    """
    if horizon_ns <= 0 or step_ns <= 0 or tolerance_ns <= 0:
        raise ValueError("horizon, step and tolerance must be > 0 ns")
    names = list(catalogue)
    grid = np.arange(t0_ns, t0_ns + horizon_ns + step_ns, step_ns, dtype=np.int64)
    grid[-1] = min(int(grid[-1]), t0_ns + horizon_ns)
    pos = {n: positions_m(catalogue[n], grid, j2=j2) for n in names}
    todo = pairs if pairs is not None else [
        (a, b) for k, a in enumerate(names) for b in names[k + 1 :]
    ]

    def positions_at(a_names: list[str], t_ns: NDArray[np.int64]) -> NDArray[np.float64]:
        # one propagation per node for all the times asked of it
        out = np.empty((len(a_names), 3))
        by_node: dict[str, list[int]] = {}
        for k, n in enumerate(a_names):
            by_node.setdefault(n, []).append(k)
        for n, rows in by_node.items():
            out[rows] = positions_m(catalogue[n], t_ns[rows], j2=j2)
        return out

    # Coarse windows per pair: (a, b, k, j) = visible from grid[k] through grid[j].
    runs: list[tuple[str, str, int, int]] = []
    n = len(grid)
    for a, b in todo:
        if a not in catalogue or b not in catalogue:
            raise KeyError(f"pair ({a!r}, {b!r}) not in the catalogue")
        vis = visible(pos[a], pos[b], grazing_height_m, max_range_m)
        k = 0
        while k < n:
            if not vis[k]:
                k += 1
                continue
            j = k
            while j + 1 < n and vis[j + 1]:
                j += 1
            runs.append((a, b, k, j))
            k = j + 1
    # Every window edge found by bisection to ``tolerance_ns``, all edges at once: the same
    # midpoints and tests as one bisection per edge, one propagation per node per round.
    ea: list[str] = []
    eb: list[str] = []
    lo_l: list[int] = []
    hi_l: list[int] = []
    lo_vis_l: list[bool] = []
    for a, b, k, j in runs:
        for lo_k, rising in ((k - 1, True), (j, False)):
            if (rising and k > 0) or (not rising and j < n - 1):
                ea.append(a)
                eb.append(b)
                lo_l.append(int(grid[lo_k]))
                hi_l.append(int(grid[lo_k + 1]))
                lo_vis_l.append(not rising)
    lo = np.array(lo_l, dtype=np.int64)
    hi = np.array(hi_l, dtype=np.int64)
    lo_vis = np.array(lo_vis_l, dtype=bool)
    while True:
        active = np.flatnonzero(hi - lo > tolerance_ns)
        if active.size == 0:
            break
        mid = (lo[active] + hi[active]) // 2
        va = positions_at([ea[i] for i in active], mid)
        vb = positions_at([eb[i] for i in active], mid)
        same = visible(va, vb, grazing_height_m, max_range_m) == lo_vis[active]
        lo[active[same]] = mid[same]
        hi[active[~same]] = mid[~same]
    edges = iter(hi.tolist())
    spans: list[tuple[str, str, int, int]] = []
    for a, b, k, j in runs:
        start = int(grid[0]) if k == 0 else next(edges)
        end = int(grid[-1]) if j == n - 1 else next(edges)
        spans.append((a, b, start, end))
    mids = np.array([(s0 + s1) // 2 for _, _, s0, s1 in spans], dtype=np.int64)
    ra = positions_at([sp[0] for sp in spans], mids)
    rb = positions_at([sp[1] for sp in spans], mids)
    ranges = np.linalg.norm(ra - rb, axis=1) if spans else np.empty(0)
    out: list[Contact] = [
        Contact(a, b, start, end, rate_bps, round(float(rng) / SPEED_OF_LIGHT_M_S * 1e9))
        for (a, b, start, end), rng in zip(spans, ranges, strict=True)
    ]
    out.sort(key=lambda c: (c.start_ns, c.a, c.b))
    return out
