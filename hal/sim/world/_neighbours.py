"""``world.neighbours``: other satellites of the constellation (for the laser terminals).

They are propagated with the same force model as the own spacecraft (RK4, J2, drag with a
fixed ballistic coefficient), lazily: only when asked, on their own fixed grid of
``propagation_step_s`` steps plus one partial step, so the answer does not depend on when
or how often they are asked. Line of sight requires the segment
between the two satellites to clear the Earth's surface by ``grazing_height_km``. Pointing
is given in the own body frame: azimuth in the body X-Y plane from +X toward +Y, elevation
above that plane positive toward -Z (toward zenith when nadir pointing).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.constants import EARTH_RADIUS_M
from native.errors import DeviceCommandError

__all__ = ["NeighboursView", "segment_clears_sphere"]


def segment_clears_sphere(
    r1: NDArray[np.float64], r2: NDArray[np.float64], radius_m: float
) -> bool:
    """True if the segment r1 -> r2 stays farther than ``radius_m`` from the origin."""
    d = r2 - r1
    dd = float(d @ d)
    t = 0.0 if dd == 0.0 else min(1.0, max(0.0, -float(r1 @ d) / dd))
    c = r1 + t * d
    return bool(float(c @ c) > radius_m * radius_m)


class NeighboursView:
    """States and link geometry of the neighbour satellites."""

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    @property
    def names(self) -> tuple[str, ...]:
        """Neighbour names, in configuration order."""
        return self._c.neighbour_names

    def _row(self, name: str) -> int:
        try:
            return self._c.neighbour_rows[name]
        except KeyError:
            raise DeviceCommandError(
                f"unknown neighbour {name!r} (one of {', '.join(self._c.neighbour_names)})"
            ) from None

    def state(self, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(r_eci_m, v_eci_m_s) of neighbour ``name`` (copies, shape (3,) each)."""
        s = self._c.neighbour_states()[self._row(name)]
        return s[0:3].copy(), s[3:6].copy()

    def relative_eci_m(self, name: str) -> NDArray[np.float64]:
        """Vector from the own spacecraft to the neighbour, ECI (m)."""
        k = self._row(name)
        out: NDArray[np.float64] = self._c.neighbour_states()[k, 0:3] - self._c.own[0:3]
        return out

    def range_m(self, name: str) -> float:
        """Distance to the neighbour (m)."""
        return float(np.linalg.norm(self.relative_eci_m(name)))

    def range_rate_m_s(self, name: str) -> float:
        """Rate of change of the range (m/s), positive when separating."""
        s = self._c.neighbour_states()[self._row(name)]
        own = self._c.own
        dr = s[0:3] - own[0:3]
        dv = s[3:6] - own[3:6]
        return float(dr @ dv / np.linalg.norm(dr))

    def line_of_sight(self, name: str) -> bool:
        """True if the line to the neighbour clears the Earth plus the grazing height."""
        s = self._c.neighbour_states()[self._row(name)]
        clearance = EARTH_RADIUS_M + self._c.cfg.neighbours.grazing_height_km * 1e3
        return segment_clears_sphere(self._c.own[0:3], s[0:3], clearance)

    def direction_body(self, name: str) -> NDArray[np.float64]:
        """Unit vector to the neighbour in the own body frame."""
        d = self.relative_eci_m(name)
        w, x, y, z = self._c.x[L.X_Q : L.X_Q + 4]
        rot = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )
        b = rot.T @ d
        return b / np.linalg.norm(b)

    def pointing_az_el_rad(self, name: str) -> tuple[float, float]:
        """(azimuth, elevation) of the neighbour in the body frame (rad), see module doc."""
        b = self.direction_body(name)
        return math.atan2(b[1], b[0]), math.atan2(-b[2], math.hypot(b[0], b[1]))
