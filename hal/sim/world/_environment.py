"""``world.env``: Sun, shadow, atmosphere and radiation environment at the spacecraft."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.constants import AU_M

__all__ = ["EnvironmentView"]


class EnvironmentView:
    """Environment at ``world.t_ns`` (evaluated at the end of the last advance)."""

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    @property
    def sun_eci_unit(self) -> NDArray[np.float64]:
        """Unit vector from the Earth's centre to the Sun, ECI, shape (3,)."""
        return self._c.out()[L.O_SUN : L.O_SUN + 3].copy()

    @property
    def sun_distance_m(self) -> float:
        """Earth-Sun distance (m)."""
        return float(self._c.out()[L.O_SUN_DIST])

    @property
    def solar_flux_w_m2(self) -> float:
        """Solar flux at the spacecraft's distance when sunlit (W/m^2, shadow not applied)."""
        c = self._c
        return float(c.p[L.P_SOLAR] * (AU_M / c.out()[L.O_SUN_DIST]) ** 2)

    @property
    def sunlit_frac(self) -> float:
        """Visible fraction of the solar disc: 0 in umbra, 1 in full sun."""
        return float(self._c.out()[L.O_SUNLIT])

    @property
    def in_eclipse(self) -> bool:
        """True when less than half of the solar disc is visible."""
        return bool(self._c.out()[L.O_SUNLIT] < 0.5)

    @property
    def beta_rad(self) -> float:
        """Beta angle: elevation of the Sun above the orbit plane (rad)."""
        return float(self._c.out()[L.O_BETA])

    @property
    def in_saa(self) -> bool:
        """True inside the South Atlantic Anomaly ellipse."""
        return bool(self._c.out()[L.O_SAA] != 0.0)

    @property
    def density_kg_m3(self) -> float:
        """Atmospheric density at the spacecraft (kg/m^3)."""
        return float(self._c.out()[L.O_DENSITY])

    @property
    def f107_sfu(self) -> float:
        """10.7 cm solar flux used by the density model (sfu)."""
        return float(self._c.f107_sfu)

    @property
    def eclipse_s_total(self) -> float:
        """Integral of (1 - sunlit_frac) over the simulated time (s)."""
        return float(self._c.acc[L.A_ECLIPSE_S])

    @property
    def saa_s_total(self) -> float:
        """Time spent inside the SAA (s)."""
        return float(self._c.acc[L.A_SAA_S])
