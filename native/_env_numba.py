"""Numba kernels of the space environment: Sun ephemeris, Earth shadow, atmospheric density.

Scalar ``@kernel`` functions (callable from other kernels, e.g. the world's fused step) plus
batch kernels over arrays. The NumPy references are in :mod:`native._env_ref`.

- :func:`sun_position` -- low-precision solar ephemeris (Astronomical Almanac / Vallado
  algorithm 29, ~0.01 deg from 1950 to 2050) in the mean-of-date equatorial frame, which the
  world uses as its ECI frame.
- :func:`shadow_fraction` -- sunlit fraction: cylindrical (0 or 1) or conical with penumbra
  (overlap of the solar and Earth discs, Montenbruck & Gill 3.4).
- :func:`density_kg_m3` -- exponential (Vallado table 8-4), scaled exponential (with a solar
  activity factor) or Harris-Priester (Montenbruck & Gill table, diurnal bulge) density.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from native.constants import (
    AU_M,
    EARTH_FLATTENING,
    EARTH_RADIUS_M,
    SUN_RADIUS_M,
)
from native.jit import kernel

__all__ = [
    "DENSITY_EXPONENTIAL",
    "DENSITY_HARRIS_PRIESTER",
    "DENSITY_SCALED_EXPONENTIAL",
    "EXPONENTIAL_TABLE",
    "HARRIS_PRIESTER_LAG_RAD",
    "HARRIS_PRIESTER_TABLE",
    "SHADOW_CONICAL",
    "SHADOW_CYLINDRICAL",
    "activity_log_factor",
    "density_batch_kernel",
    "density_kg_m3",
    "diurnal_bulge_unit",
    "shadow_batch_kernel",
    "shadow_fraction",
    "sun_batch_kernel",
    "sun_position",
]

SHADOW_CYLINDRICAL = 0
SHADOW_CONICAL = 1

DENSITY_EXPONENTIAL = 0
DENSITY_SCALED_EXPONENTIAL = 1
DENSITY_HARRIS_PRIESTER = 2

#: Vallado table 8-4: base altitude (km), nominal density (kg/m^3), scale height (km).
EXPONENTIAL_TABLE: NDArray[np.float64] = np.array(
    [
        [0.0, 1.225, 7.249],
        [25.0, 3.899e-2, 6.349],
        [30.0, 1.774e-2, 6.682],
        [40.0, 3.972e-3, 7.554],
        [50.0, 1.057e-3, 8.382],
        [60.0, 3.206e-4, 7.714],
        [70.0, 8.770e-5, 6.549],
        [80.0, 1.905e-5, 5.799],
        [90.0, 3.396e-6, 5.382],
        [100.0, 5.297e-7, 5.877],
        [110.0, 9.661e-8, 7.263],
        [120.0, 2.438e-8, 9.473],
        [130.0, 8.484e-9, 12.636],
        [140.0, 3.845e-9, 16.149],
        [150.0, 2.070e-9, 22.523],
        [180.0, 5.464e-10, 29.740],
        [200.0, 2.789e-10, 37.105],
        [250.0, 7.248e-11, 45.546],
        [300.0, 2.418e-11, 53.628],
        [350.0, 9.518e-12, 53.298],
        [400.0, 3.725e-12, 58.515],
        [450.0, 1.585e-12, 60.828],
        [500.0, 6.967e-13, 63.822],
        [600.0, 1.454e-13, 71.835],
        [700.0, 3.614e-14, 88.667],
        [800.0, 1.170e-14, 124.64],
        [900.0, 5.245e-15, 181.05],
        [1000.0, 3.019e-15, 268.00],
    ]
)

_HP_H = [100.0, 120.0, 130.0, 140.0, 150.0, 160.0, 170.0, 180.0, 190.0, 200.0]
_HP_H += [210.0 + 10.0 * k for k in range(10)]  # 210 .. 300
_HP_H += [320.0 + 20.0 * k for k in range(25)]  # 320 .. 800
_HP_H += [840.0, 880.0, 920.0, 960.0, 1000.0]
_HP_MIN = [
    4.974e05, 2.490e04, 8.377e03, 3.899e03, 2.122e03, 1.263e03, 8.008e02, 5.283e02,
    3.617e02, 2.557e02, 1.839e02, 1.341e02, 9.949e01, 7.488e01, 5.709e01, 4.403e01,
    3.430e01, 2.697e01, 2.139e01, 1.708e01, 1.099e01, 7.214e00, 4.824e00, 3.274e00,
    2.249e00, 1.558e00, 1.091e00, 7.701e-01, 5.474e-01, 3.916e-01, 2.819e-01, 2.042e-01,
    1.488e-01, 1.092e-01, 8.070e-02, 6.012e-02, 4.519e-02, 3.430e-02, 2.632e-02, 2.043e-02,
    1.607e-02, 1.281e-02, 1.036e-02, 8.496e-03, 7.069e-03, 4.680e-03, 3.200e-03, 2.210e-03,
    1.560e-03, 1.150e-03,
]  # fmt: skip
_HP_MAX = [
    4.974e05, 2.490e04, 8.710e03, 4.059e03, 2.215e03, 1.344e03, 8.758e02, 6.010e02,
    4.297e02, 3.162e02, 2.396e02, 1.853e02, 1.455e02, 1.157e02, 9.308e01, 7.555e01,
    6.182e01, 5.095e01, 4.226e01, 3.526e01, 2.511e01, 1.819e01, 1.337e01, 9.955e00,
    7.492e00, 5.684e00, 4.355e00, 3.362e00, 2.612e00, 2.042e00, 1.605e00, 1.267e00,
    1.005e00, 7.997e-01, 6.390e-01, 5.123e-01, 4.121e-01, 3.325e-01, 2.691e-01, 2.185e-01,
    1.779e-01, 1.452e-01, 1.190e-01, 9.776e-02, 8.059e-02, 5.741e-02, 4.210e-02, 3.130e-02,
    2.360e-02, 1.810e-02,
]  # fmt: skip

#: Harris-Priester (Montenbruck & Gill, mean solar activity): height (km), minimum and
#: maximum density (kg/m^3; the published table is in g/km^3 = 1e-12 kg/m^3).
HARRIS_PRIESTER_TABLE: NDArray[np.float64] = np.column_stack(
    [np.array(_HP_H), np.array(_HP_MIN) * 1e-12, np.array(_HP_MAX) * 1e-12]
)
#: Right-ascension lag of the diurnal bulge apex behind the Sun (rad), 30 deg.
HARRIS_PRIESTER_LAG_RAD = math.radians(30.0)
_HP_EXPONENT = 1.5  # cos^n(psi/2) with n = 3 (mid inclination) = (cos^2(psi/2))^1.5

# Activity factor anchors at 550 km (F10.7 sfu, density / table density): NRLMSISE-00 gives
# 6.7e-14 kg/m^3 at F10.7 = 70 and 2.7e-12 at 250 (REFERENCE.md) against 3.18e-13 from table
# 8-4, which corresponds to moderate activity (F10.7 ~ 150).
_ACTIVITY_F107 = (70.0, 150.0, 250.0)
_ACTIVITY_FACTOR = (0.21, 1.0, 8.5)
#: Height (km) below which solar activity does not change density; the log of the factor
#: grows linearly from there to its 550 km value (10x at 400 km, 40x at 550 km for 70 -> 250).
ACTIVITY_BASE_KM = 120.0
ACTIVITY_REF_KM = 550.0


def activity_log_factor(f107_sfu: float) -> float:
    """Natural log of the density factor at 550 km for a 10.7 cm solar flux (sfu).

    Log-linear interpolation through (70, 0.21), (150, 1), (250, 8.5), extrapolated beyond.
    """
    f = _ACTIVITY_F107
    ln = [math.log(v) for v in _ACTIVITY_FACTOR]
    k = 0 if f107_sfu <= f[1] else 1
    return ln[k] + (ln[k + 1] - ln[k]) * (f107_sfu - f[k]) / (f[k + 1] - f[k])


@kernel
def sun_position(days_j2000: float) -> tuple[float, float, float, float]:
    """Unit vector to the Sun (mean-of-date equatorial) and its distance (m).

    ``days_j2000``: days since J2000.0 (JD 2451545.0), UT1 taken equal to UTC.
    Vallado algorithm 29 (Astronomical Almanac low-precision formulae).
    """
    t = days_j2000 / 36525.0
    lam_m = 280.460 + 36000.771 * t
    m = math.radians(357.5291092 + 35999.05034 * t)
    lam = math.radians(lam_m + 1.914666471 * math.sin(m) + 0.019994643 * math.sin(2.0 * m))
    r_au = 1.000140612 - 0.016708617 * math.cos(m) - 0.000139589 * math.cos(2.0 * m)
    eps = math.radians(23.439291 - 0.0130042 * t)
    cl = math.cos(lam)
    sl = math.sin(lam)
    return cl, math.cos(eps) * sl, math.sin(eps) * sl, r_au * AU_M


@kernel
def shadow_fraction(
    rx: float, ry: float, rz: float, sx: float, sy: float, sz: float, sun_dist_m: float, model: int
) -> float:
    """Fraction of the solar disc visible from position ``r`` (m, ECI): 0 umbra .. 1 sunlit.

    ``s`` is the unit vector to the Sun, ``sun_dist_m`` the Earth-Sun distance, ``model`` one
    of SHADOW_CYLINDRICAL (umbra iff behind the Earth inside a cylinder of radius R_E) or
    SHADOW_CONICAL (apparent discs of the Sun and the Earth, penumbra partial).
    """
    rs = rx * sx + ry * sy + rz * sz
    if model == SHADOW_CYLINDRICAL:
        if rs >= 0.0:
            return 1.0
        px = rx - rs * sx
        py = ry - rs * sy
        pz = rz - rs * sz
        if px * px + py * py + pz * pz < EARTH_RADIUS_M * EARTH_RADIUS_M:
            return 0.0
        return 1.0
    # Conical: vector satellite -> Sun.
    dx = sx * sun_dist_m - rx
    dy = sy * sun_dist_m - ry
    dz = sz * sun_dist_m - rz
    dn = math.sqrt(dx * dx + dy * dy + dz * dz)
    rn = math.sqrt(rx * rx + ry * ry + rz * rz)
    a = math.asin(min(1.0, SUN_RADIUS_M / dn))  # apparent solar radius
    b = math.asin(min(1.0, EARTH_RADIUS_M / rn))  # apparent Earth radius
    cc = -(rx * dx + ry * dy + rz * dz) / (rn * dn)
    c = math.acos(max(-1.0, min(1.0, cc)))  # separation of the disc centres
    if c >= a + b:
        return 1.0
    if c <= b - a:
        return 0.0
    if c <= a - b:  # Earth disc inside the Sun's (not in LEO; kept for completeness)
        return 1.0 - (b * b) / (a * a)
    x = (c * c + a * a - b * b) / (2.0 * c)
    y = math.sqrt(max(0.0, a * a - x * x))
    area = (
        a * a * math.acos(max(-1.0, min(1.0, x / a)))
        + b * b * math.acos(max(-1.0, min(1.0, (c - x) / b)))
        - c * y
    )
    return max(0.0, 1.0 - area / (math.pi * a * a))


@kernel
def diurnal_bulge_unit(sx: float, sy: float, sz: float) -> tuple[float, float, float]:
    """Apex of the diurnal bulge: the Sun direction turned 30 deg east about the pole."""
    c = math.cos(HARRIS_PRIESTER_LAG_RAD)
    s = math.sin(HARRIS_PRIESTER_LAG_RAD)
    return sx * c - sy * s, sx * s + sy * c, sz


@kernel
def density_kg_m3(
    rx: float,
    ry: float,
    rz: float,
    ux: float,
    uy: float,
    uz: float,
    model: int,
    table: NDArray[np.float64],
    act_ln550: float,
) -> float:
    """Atmospheric density (kg/m^3) at ECI position ``r`` (m).

    Height is above the WGS-84 ellipsoid (first-order in flattening, geocentric latitude).
    ``table`` is EXPONENTIAL_TABLE for the exponential models and HARRIS_PRIESTER_TABLE for
    Harris-Priester; ``u`` the diurnal bulge apex (Harris-Priester only); ``act_ln550`` the
    log activity factor at 550 km (0 for the plain exponential model). Heights outside the
    table extrapolate its end segments.
    """
    rn = math.sqrt(rx * rx + ry * ry + rz * rz)
    sphi = rz / rn
    h_km = (rn - EARTH_RADIUS_M * (1.0 - EARTH_FLATTENING * sphi * sphi)) * 1e-3
    n = table.shape[0]
    # Binary search for the last base height <= h (clamped to the first/last segment).
    lo = 0
    hi = n - 1
    if model == DENSITY_HARRIS_PRIESTER:
        hi = n - 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if table[mid, 0] <= h_km:
            lo = mid
        else:
            hi = mid
    if h_km >= table[hi, 0]:
        lo = hi
    if model == DENSITY_HARRIS_PRIESTER:
        if lo > n - 2:
            lo = n - 2
        h0 = table[lo, 0]
        h1 = table[lo + 1, 0]
        dmin = table[lo, 1] * math.exp(
            (h_km - h0) / (h1 - h0) * math.log(table[lo + 1, 1] / table[lo, 1])
        )
        dmax = table[lo, 2] * math.exp(
            (h_km - h0) / (h1 - h0) * math.log(table[lo + 1, 2] / table[lo, 2])
        )
        c2 = 0.5 + 0.5 * (rx * ux + ry * uy + rz * uz) / rn
        rho = dmin + (dmax - dmin) * max(0.0, c2) ** _HP_EXPONENT
    else:
        rho = table[lo, 1] * math.exp(-(h_km - table[lo, 0]) / table[lo, 2])
    if model != DENSITY_EXPONENTIAL and act_ln550 != 0.0:
        g = (h_km - ACTIVITY_BASE_KM) / (ACTIVITY_REF_KM - ACTIVITY_BASE_KM)
        if g > 0.0:
            rho *= math.exp(act_ln550 * g)
    return float(rho)


@kernel
def sun_batch_kernel(days_j2000: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """``out[k] = (ux, uy, uz, dist_m)`` of :func:`sun_position` for every ``days_j2000[k]``."""
    for k in range(days_j2000.shape[0]):
        ux, uy, uz, d = sun_position(days_j2000[k])
        out[k, 0] = ux
        out[k, 1] = uy
        out[k, 2] = uz
        out[k, 3] = d


@kernel
def shadow_batch_kernel(
    r: NDArray[np.float64], sun: NDArray[np.float64], model: int, out: NDArray[np.float64]
) -> None:
    """``out[k]`` = :func:`shadow_fraction` of position ``r[k]`` (m) and ``sun[k]`` (ux,uy,uz,d)."""
    for k in range(r.shape[0]):
        out[k] = shadow_fraction(
            r[k, 0], r[k, 1], r[k, 2], sun[k, 0], sun[k, 1], sun[k, 2], sun[k, 3], model
        )


@kernel
def density_batch_kernel(
    r: NDArray[np.float64],
    bulge: NDArray[np.float64],
    model: int,
    table: NDArray[np.float64],
    act_ln550: float,
    out: NDArray[np.float64],
) -> None:
    """``out[k]`` = :func:`density_kg_m3` at ``r[k]`` (m) with bulge apex ``bulge`` (3,)."""
    for k in range(r.shape[0]):
        out[k] = density_kg_m3(
            r[k, 0], r[k, 1], r[k, 2], bulge[0], bulge[1], bulge[2], model, table, act_ln550
        )
