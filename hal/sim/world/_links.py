"""Geometry of a line between two spacecraft: line of sight, range, light time, rates.

Pure functions of two ECI states, used by the universe, the optical channel and the tests.

Line of sight: the segment r1 -> r2 must stay above the sphere of radius
``R_E + grazing height`` (the lowest point of the segment is at ``|r1 + t d|``,
``t = clamp(-r1.d / d.d, 0, 1)``, ``d = r2 - r1``). For two circular orbits of equal radius
``r`` separated by the central angle ``gamma`` the lowest point is ``r cos(gamma / 2)``, so the
closed form is ``gamma < 2 acos((R_E + h_g) / r)``.

The line of sight turns at ``omega = (d x d_dot) / |d|^2`` (rad/s, inertial); a terminal on a
body turning at ``w_b`` sees it move at ``|(omega - w_b) x u|`` with ``u = d / |d|``.
Point-ahead angle ``2 v_perp / c`` (REFERENCE.md, "Laser terminals").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hal._frames import cross3
from native.constants import EARTH_RADIUS_M

__all__ = [
    "SPEED_OF_LIGHT_M_S",
    "LinkGeometry",
    "contact_windows",
    "link_geometry",
    "los_max_central_angle_rad",
    "segment_min_radius_m",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0


def segment_min_radius_m(r1: NDArray[np.float64], r2: NDArray[np.float64]) -> float:
    """Smallest distance (m) from the Earth's centre of a point on the segment r1 -> r2."""
    d = r2 - r1
    dd = float(d @ d)
    t = 0.0 if dd == 0.0 else min(1.0, max(0.0, -float(r1 @ d) / dd))
    c = r1 + t * d
    return float(math.sqrt(float(c @ c)))


def los_max_central_angle_rad(radius_m: float, grazing_height_m: float) -> float:
    """Largest central angle (rad) between two spacecraft at orbit radius ``radius_m`` whose
    line of sight clears the Earth by ``grazing_height_m``: ``2 acos((R_E + h_g) / r)``."""
    ratio = (EARTH_RADIUS_M + grazing_height_m) / radius_m
    if ratio >= 1.0:
        return 0.0
    return 2.0 * math.acos(ratio)


@dataclass(frozen=True, slots=True)
class LinkGeometry:
    """The line from spacecraft A to spacecraft B at one instant (ECI)."""

    range_m: float  #: |r_B - r_A|, m
    range_rate_m_s: float  #: d|r_B - r_A|/dt, m/s, + separating
    light_time_s: float  #: range / c, s
    line_of_sight: bool  #: the segment clears R_E + grazing height
    min_height_m: float  #: height of the segment's lowest point above the sphere R_E, m
    los_rate_rad_s: float  #: inertial angular rate of the line of sight, rad/s
    point_ahead_rad: float  #: 2 v_perp / c, rad
    unit_eci: tuple[float, float, float]  #: unit vector A -> B
    los_rate_eci: tuple[float, float, float]  #: omega = d x d_dot / |d|^2, rad/s


def link_geometry(
    state_a: ArrayLike, state_b: ArrayLike, grazing_height_m: float = 0.0
) -> LinkGeometry:
    """Geometry of the line A -> B from two ECI states (6,) (m, m/s)."""
    a = np.asarray(state_a, dtype=np.float64).reshape(6)
    b = np.asarray(state_b, dtype=np.float64).reshape(6)
    d = b[0:3] - a[0:3]
    dv = b[3:6] - a[3:6]
    rng = float(np.linalg.norm(d))
    if rng == 0.0:
        raise ValueError("link_geometry: the two positions coincide")
    u = d / rng
    rate = float(u @ dv)
    w = cross3(d, dv) / (rng * rng)
    v_perp = float(np.linalg.norm(dv - rate * u))
    low = segment_min_radius_m(a[0:3], b[0:3])
    return LinkGeometry(
        range_m=rng,
        range_rate_m_s=rate,
        light_time_s=rng / SPEED_OF_LIGHT_M_S,
        line_of_sight=low > EARTH_RADIUS_M + grazing_height_m,
        min_height_m=low - EARTH_RADIUS_M,
        los_rate_rad_s=float(np.linalg.norm(w)),
        point_ahead_rad=2.0 * v_perp / SPEED_OF_LIGHT_M_S,
        unit_eci=(float(u[0]), float(u[1]), float(u[2])),
        los_rate_eci=(float(w[0]), float(w[1]), float(w[2])),
    )


def contact_windows(times_s: ArrayLike, visible: ArrayLike) -> list[tuple[float, float]]:
    """Intervals ``(start_s, end_s)`` over which ``visible`` (bool per sample) holds, from
    the first to the last visible sample of each run (a run still open at the end ends at
    the last sample)."""
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    v = np.asarray(visible, dtype=bool).reshape(-1)
    if t.shape != v.shape:
        raise ValueError("contact_windows: times and flags differ in length")
    out: list[tuple[float, float]] = []
    start: float | None = None
    for k in range(t.shape[0]):
        if v[k] and start is None:
            start = float(t[k])
        elif not v[k] and start is not None:
            out.append((start, float(t[k - 1])))
            start = None
    if start is not None:
        out.append((start, float(t[-1])))
    return out
