"""The Earth-rotation model that links the ECI frame of the HAL to the ECEF frame of GNSS.

GNSS receivers report position and velocity in the Earth-fixed frame (ECEF, WGS-84 axes). The
simulated world and flight's orbit estimators work in an Earth-centred inertial frame (ECI).
The HAL defines the link between the two as a rotation about the z axis by the Greenwich mean
sidereal time (IAU-1982 GMST, Vallado eq. 3-47, UT1 taken equal to UTC; no precession,
nutation or polar motion). This is a pseudo-inertial frame of date, accurate to the arc-second
level that flight needs for orbit determination from GNSS fixes; both sides of the HAL use
exactly these functions so that the conversion is lossless in simulation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_ROTATION_RAD_S", "cross3", "ecef_to_eci", "eci_to_ecef", "gmst_rad"]

#: Earth's mean angular velocity (rad/s), WGS-84 / IERS value.
EARTH_ROTATION_RAD_S = 7.292115146706979e-5

_J2000_UNIX_NS = 946_728_000 * 10**9  # 2000-01-01T12:00:00 UTC (JD 2451545.0)
_DAY_NS = 86_400 * 10**9


def gmst_rad(utc_ns: int) -> float:
    """Greenwich mean sidereal angle (rad, in [0, 2 pi)) at ``utc_ns`` ns since the Unix epoch.

    IAU-1982 polynomial (Vallado, Fundamentals of Astrodynamics, eq. 3-47) with UT1 = UTC.
    The ``876600 h`` term of the polynomial is exactly 86400 s per day since J2000, so it is
    reduced modulo a day in integer arithmetic first: the angle keeps ~1e-14 rad precision
    (the naive float evaluation loses ~1e-11 rad, i.e. mm/s in a LEO velocity).
    """
    days, rem_ns = divmod(int(utc_ns) - _J2000_UNIX_NS, _DAY_NS)
    frac = rem_ns / _DAY_NS
    t = (days + frac) / 36525.0
    sec = 67310.54841 + 86400.0 * frac + 8640184.812866 * t + 0.093104 * t * t - 6.2e-6 * t**3
    return math.fmod(math.fmod(sec, 86400.0) / 86400.0 * 2.0 * math.pi + 4.0 * math.pi, 2 * math.pi)


def cross3(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """``a x b`` of two 3-vectors, the same float64 operations as ``np.cross`` (bit for bit)
    without its per-call cost (axis handling, ~10 us)."""
    a0, a1, a2 = (float(x) for x in np.asarray(a, dtype=np.float64).reshape(3))
    b0, b1, b2 = (float(x) for x in np.asarray(b, dtype=np.float64).reshape(3))
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def _rot_z(angle: float) -> NDArray[np.float64]:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def eci_to_ecef(
    r_eci_m: ArrayLike, v_eci_m_s: ArrayLike, utc_ns: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rotate ECI position (m) and velocity (m/s) into ECEF at ``utc_ns``.

    ``v_ecef = R v_eci - omega x r_ecef`` (the velocity seen by an Earth-fixed observer).
    """
    rot = _rot_z(gmst_rad(utc_ns))
    r = rot @ np.asarray(r_eci_m, dtype=np.float64)
    w = np.array([0.0, 0.0, EARTH_ROTATION_RAD_S])
    v = rot @ np.asarray(v_eci_m_s, dtype=np.float64) - cross3(w, r)
    return r, v


def ecef_to_eci(
    r_ecef_m: ArrayLike, v_ecef_m_s: ArrayLike, utc_ns: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse of :func:`eci_to_ecef`: ECEF position (m) and velocity (m/s) to ECI."""
    rot_t = _rot_z(gmst_rad(utc_ns)).T
    r_ecef = np.asarray(r_ecef_m, dtype=np.float64)
    w = np.array([0.0, 0.0, EARTH_ROTATION_RAD_S])
    v = rot_t @ (np.asarray(v_ecef_m_s, dtype=np.float64) + cross3(w, r_ecef))
    return rot_t @ r_ecef, v
