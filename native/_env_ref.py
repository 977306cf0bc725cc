"""Pure-NumPy references of the environment kernels (the test oracle of :mod:`native._env_numba`).

Written for clarity over arrays; same calling convention as the batch kernels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from native._env_numba import (
    ACTIVITY_BASE_KM,
    ACTIVITY_REF_KM,
    DENSITY_EXPONENTIAL,
    DENSITY_HARRIS_PRIESTER,
    SHADOW_CYLINDRICAL,
)
from native.constants import AU_M, EARTH_FLATTENING, EARTH_RADIUS_M, SUN_RADIUS_M

__all__ = ["density_batch_ref", "shadow_batch_ref", "sun_batch_ref"]


def sun_batch_ref(days_j2000: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """Sun unit vector and distance (m) per epoch (Vallado algorithm 29) into ``out`` (M, 4)."""
    t = np.asarray(days_j2000) / 36525.0
    mean_lon_deg = 280.460 + 36000.771 * t
    mean_anom = np.radians(357.5291092 + 35999.05034 * t)
    ecl_lon = np.radians(
        mean_lon_deg + 1.914666471 * np.sin(mean_anom) + 0.019994643 * np.sin(2 * mean_anom)
    )
    dist_au = 1.000140612 - 0.016708617 * np.cos(mean_anom) - 0.000139589 * np.cos(2 * mean_anom)
    obliquity = np.radians(23.439291 - 0.0130042 * t)
    out[:, 0] = np.cos(ecl_lon)
    out[:, 1] = np.cos(obliquity) * np.sin(ecl_lon)
    out[:, 2] = np.sin(obliquity) * np.sin(ecl_lon)
    out[:, 3] = dist_au * AU_M


def shadow_batch_ref(
    r: NDArray[np.float64], sun: NDArray[np.float64], model: int, out: NDArray[np.float64]
) -> None:
    """Sunlit fraction per position (cylindrical or conical disc overlap) into ``out`` (M,)."""
    s_hat = sun[:, 0:3]
    if model == SHADOW_CYLINDRICAL:
        along = np.einsum("ij,ij->i", r, s_hat)
        perp = r - along[:, None] * s_hat
        behind = (along < 0) & (np.einsum("ij,ij->i", perp, perp) < EARTH_RADIUS_M**2)
        out[:] = np.where(behind, 0.0, 1.0)
        return
    to_sun = s_hat * sun[:, 3:4] - r
    d_sun = np.linalg.norm(to_sun, axis=1)
    d_earth = np.linalg.norm(r, axis=1)
    a = np.arcsin(np.minimum(1.0, SUN_RADIUS_M / d_sun))
    b = np.arcsin(np.minimum(1.0, EARTH_RADIUS_M / d_earth))
    c = np.arccos(np.clip(-np.einsum("ij,ij->i", r, to_sun) / (d_earth * d_sun), -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (c**2 + a**2 - b**2) / (2 * c)
        y = np.sqrt(np.maximum(0.0, a**2 - x**2))
        overlap = (
            a**2 * np.arccos(np.clip(x / a, -1, 1))
            + b**2 * np.arccos(np.clip((c - x) / b, -1, 1))
            - c * y
        )
    frac = np.maximum(0.0, 1.0 - overlap / (np.pi * a**2))
    frac = np.where(c <= a - b, 1.0 - b**2 / a**2, frac)
    frac = np.where(c <= b - a, 0.0, frac)
    out[:] = np.where(c >= a + b, 1.0, frac)


def density_batch_ref(
    r: NDArray[np.float64],
    bulge: NDArray[np.float64],
    model: int,
    table: NDArray[np.float64],
    act_ln550: float,
    out: NDArray[np.float64],
) -> None:
    """Density (kg/m^3) per position (see :func:`native._env_numba.density_kg_m3`)."""
    rn = np.linalg.norm(r, axis=1)
    sin_lat = r[:, 2] / rn
    h_km = (rn - EARTH_RADIUS_M * (1 - EARTH_FLATTENING * sin_lat**2)) / 1e3
    base = table[:, 0]
    if model == DENSITY_HARRIS_PRIESTER:
        k = np.clip(np.searchsorted(base, h_km, side="right") - 1, 0, len(base) - 2)
        frac = (h_km - base[k]) / (base[k + 1] - base[k])
        d_min = table[k, 1] * (table[k + 1, 1] / table[k, 1]) ** frac
        d_max = table[k, 2] * (table[k + 1, 2] / table[k, 2]) ** frac
        cos2_half_psi = 0.5 + 0.5 * (r @ bulge) / rn
        rho = d_min + (d_max - d_min) * np.maximum(0.0, cos2_half_psi) ** 1.5
    else:
        k = np.clip(np.searchsorted(base, h_km, side="right") - 1, 0, len(base) - 1)
        rho = table[k, 1] * np.exp(-(h_km - base[k]) / table[k, 2])
    if model != DENSITY_EXPONENTIAL:
        g = (h_km - ACTIVITY_BASE_KM) / (ACTIVITY_REF_KM - ACTIVITY_BASE_KM)
        rho = rho * np.exp(act_ln550 * np.maximum(g, 0.0))
    out[:] = rho
