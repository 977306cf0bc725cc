"""Osculating and mean elements, J2 secular rates and the closed forms of station-keeping.

Mean semi-major axis (Brouwer 1959 / Kozai 1959, first order in J2; Schaub & Junkins,
Analytical Mechanics of Space Systems, app. F)::

    a_osc = a_m + a_m g2 [ (3 cos^2 i - 1) ((a_m/r)^3 - eta^-3)
                           + 3 (1 - cos^2 i) (a_m/r)^3 cos(2 u) ],   g2 = (J2/2) (R/a_m)^2

with u = argument of latitude, eta = sqrt(1 - e^2). It is solved for ``a_m`` by fixed-point
iteration. The short-period swing of ``a_osc`` (about 12 km peak to peak at 550 km, 53 deg) is
removed to the second-order residual (a few metres). The mean longitude ``lambda = M + argp``
keeps J2 short-period terms of a few km; callers average it over an orbit.

Closed forms (REFERENCE.md): along-track drift ``3 pi da`` per revolution; circular decay
``da/dt = -rho sqrt(mu a) / B``; drag acceleration ``rho v^2 / (2 B)``; tangential burn
``dv = v da / (2 a)``; rocket equation ``dm = m0 (1 - exp(-dv / (Isp g0)))``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flight.gnc._kernels import (
    EARTH_RADIUS_M,
    G0_M_S2,
    J2,
    MU_EARTH_M3_S2,
    state_to_elements,
)
from flight.gnc._kernels import j2_secular_rates as _native_j2_rates

__all__ = [
    "along_track_drift_per_rev_m",
    "arg_latitude_rad",
    "burn_time_for_delta_v_s",
    "circular_decay_rate_m_s",
    "delta_v_for_delta_a_m_s",
    "drag_acceleration_m_s2",
    "j2_secular_rates",
    "mean_longitude_rate_rad_s",
    "mean_semi_major_axis_m",
    "osculating_elements",
    "propellant_for_delta_v_kg",
]


def osculating_elements(state: ArrayLike) -> NDArray[np.float64]:
    """Osculating (a_m, e, i_rad, raan_rad, argp_rad, mean_anomaly_rad) of ECI states.

    ``state`` is (6,) or (N, 6) (m, m/s); the result has the same leading shape.
    """
    s = np.asarray(state, dtype=np.float64)
    return state_to_elements(s.reshape(-1, 6)).reshape(s.shape)


def arg_latitude_rad(state: ArrayLike) -> NDArray[np.float64] | float:
    """Argument of latitude u (rad, -pi..pi) of ECI states (6,) or (N, 6)."""
    s = np.asarray(state, dtype=np.float64)
    r = s[..., 0:3]
    v = s[..., 3:6]
    h = np.cross(r, v)
    node = np.stack([-h[..., 1], h[..., 0], np.zeros_like(h[..., 0])], axis=-1)
    node_n = np.linalg.norm(node, axis=-1, keepdims=True)
    node = node / np.where(node_n > 0, node_n, 1.0)
    hn = h / np.linalg.norm(h, axis=-1, keepdims=True)
    cu = np.sum(node * r, axis=-1)
    su = np.sum(np.cross(node, r) * hn, axis=-1)
    u = np.arctan2(su, cu)
    return float(u) if np.ndim(u) == 0 else u


def mean_semi_major_axis_m(state: ArrayLike, iterations: int = 3) -> NDArray[np.float64] | float:
    """Brouwer first-order mean semi-major axis (m) of ECI states (6,) or (N, 6)."""
    s = np.asarray(state, dtype=np.float64)
    el = osculating_elements(s)
    a_osc = el[..., 0]
    e = el[..., 1]
    c2 = np.cos(el[..., 2]) ** 2
    r = np.linalg.norm(s[..., 0:3], axis=-1)
    u = arg_latitude_rad(s)
    eta3 = (1.0 - e * e) ** -1.5
    cos2u = np.cos(2.0 * np.asarray(u))
    a_m = np.array(a_osc, dtype=np.float64, copy=True)
    for _ in range(iterations):
        g2 = 0.5 * J2 * (EARTH_RADIUS_M / a_m) ** 2
        ar3 = (a_m / r) ** 3
        a_m = a_osc - a_m * g2 * ((3.0 * c2 - 1.0) * (ar3 - eta3) + 3.0 * (1.0 - c2) * ar3 * cos2u)
    return float(a_m) if np.ndim(a_m) == 0 else a_m


def j2_secular_rates(a_m: float, e: float, inc_rad: float) -> tuple[float, float, float]:
    """First-order J2 secular rates (rad/s): (dRAAN/dt, dargp/dt, dM/dt) (Vallado eq. 9-41)."""
    rates = _native_j2_rates([[a_m, e, inc_rad, 0.0, 0.0, 0.0]], J2)[0]
    return float(rates[0]), float(rates[1]), float(rates[2])


def mean_longitude_rate_rad_s(a_m: float, e: float, inc_rad: float) -> float:
    """Secular rate of the mean argument of latitude ``M + argp`` (rad/s) for mean elements."""
    _, argp_dot, m_dot = j2_secular_rates(a_m, e, inc_rad)
    return argp_dot + m_dot


def along_track_drift_per_rev_m(delta_a_m: float) -> float:
    """Along-track drift per revolution (m, negative = falls behind) of an offset ``da``."""
    return -3.0 * math.pi * delta_a_m


def circular_decay_rate_m_s(density_kg_m3: float, a_m: float, ballistic_kg_m2: float) -> float:
    """Circular-orbit decay ``da/dt = -rho sqrt(mu a) / B`` (m/s, negative)."""
    return -density_kg_m3 * math.sqrt(MU_EARTH_M3_S2 * a_m) / ballistic_kg_m2


def drag_acceleration_m_s2(density_kg_m3: float, speed_m_s: float, ballistic_kg_m2: float) -> float:
    """Drag acceleration ``rho v^2 / (2 B)`` (m/s^2)."""
    return 0.5 * density_kg_m3 * speed_m_s * speed_m_s / ballistic_kg_m2


def delta_v_for_delta_a_m_s(a_m: float, delta_a_m: float) -> float:
    """Tangential delta-v (m/s, signed) that changes a circular orbit's a by ``delta_a_m``."""
    return math.sqrt(MU_EARTH_M3_S2 / a_m) * delta_a_m / (2.0 * a_m)


def propellant_for_delta_v_kg(mass_kg: float, delta_v_m_s: float, isp_s: float) -> float:
    """Rocket equation: propellant (kg) to give ``mass_kg`` a delta-v of ``|delta_v_m_s|``."""
    return mass_kg * (1.0 - math.exp(-abs(delta_v_m_s) / (isp_s * G0_M_S2)))


def burn_time_for_delta_v_s(
    mass_kg: float, delta_v_m_s: float, thrust_n: float, isp_s: float
) -> float:
    """Burn time (s) at constant thrust and Isp for ``|delta_v_m_s|`` (mass falls during it)."""
    mdot = thrust_n / (isp_s * G0_M_S2)
    return propellant_for_delta_v_kg(mass_kg, delta_v_m_s, isp_s) / mdot
