"""``world.orbit``: the own spacecraft's orbital state (read-only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.kernels import state_to_elements_kernel

__all__ = ["OrbitView"]


class OrbitView:
    """Position, velocity and mass of the own spacecraft at ``world.t_ns``.

    Arrays are fresh copies (changing them does not change the world).
    """

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    @property
    def r_eci_m(self) -> NDArray[np.float64]:
        """Position in ECI (m), shape (3,)."""
        return self._c.own[0:3].copy()

    @property
    def v_eci_m_s(self) -> NDArray[np.float64]:
        """Velocity in ECI (m/s), shape (3,)."""
        return self._c.own[3:6].copy()

    @property
    def altitude_m(self) -> float:
        """Height above the WGS-84 ellipsoid (m, first order in flattening)."""
        return float(self._c.out()[L.O_ALT])

    @property
    def latitude_rad(self) -> float:
        """Geocentric latitude of the sub-satellite point (rad)."""
        return float(self._c.out()[L.O_LAT])

    @property
    def longitude_rad(self) -> float:
        """East longitude of the sub-satellite point (rad, -pi..pi)."""
        return float(self._c.out()[L.O_LON])

    @property
    def mass_kg(self) -> float:
        """Wet mass (dry + remaining propellant), kg."""
        return float(self._c.x[L.X_MASS])

    @property
    def drag_area_m2(self) -> float:
        """Current drag area (m^2), from the attitude and the array angle."""
        return float(self._c.out()[L.O_DRAG_AREA])

    def elements(self) -> NDArray[np.float64]:
        """Osculating elements (a_m, e, i_rad, raan_rad, argp_rad, mean_anomaly_rad)."""
        out = np.empty((1, 6))
        state_to_elements_kernel(self._c.own.reshape(1, 6), out)
        row: NDArray[np.float64] = out[0].copy()
        return row
