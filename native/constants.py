"""Physical constants of satnode (SI units): Earth, Sun and radiation.

The one owner of these numbers: the orbit, environment and thermal kernels, the simulated
world, GNC and the ground tools all import them from here, never keep their own copies.
Earth values from Vallado (Fundamentals of Astrodynamics and Applications, 4th ed.) and
WGS-84; the Stefan-Boltzmann constant is CODATA 2018 (exact since the 2019 SI).
"""

from __future__ import annotations

__all__ = [
    "AU_M",
    "EARTH_FLATTENING",
    "EARTH_RADIUS_M",
    "EARTH_ROTATION_RAD_S",
    "G0_M_S2",
    "J2",
    "J2000_JD",
    "MU_EARTH_M3_S2",
    "SIGMA_W_M2_K4",
    "SUN_RADIUS_M",
]

#: Earth's gravitational parameter (m^3/s^2), 398600.4418 km^3/s^2.
MU_EARTH_M3_S2 = 3.986004418e14
#: Earth's equatorial radius (m), 6378.137 km.
EARTH_RADIUS_M = 6378137.0
#: Second zonal harmonic (unnormalised).
J2 = 1.08263e-3
#: WGS-84 flattening.
EARTH_FLATTENING = 1.0 / 298.257223563
#: Earth's mean rotation rate (rad/s).
EARTH_ROTATION_RAD_S = 7.292115146706979e-5
#: Standard gravity (m/s^2), the rocket equation's g0.
G0_M_S2 = 9.80665
#: Astronomical unit (m).
AU_M = 149597870700.0
#: Solar photosphere radius (m).
SUN_RADIUS_M = 696000e3
#: Stefan-Boltzmann constant (W/m^2/K^4).
SIGMA_W_M2_K4 = 5.670374419e-8
#: Julian date of J2000.0 (2000-01-01T12:00).
J2000_JD = 2451545.0
