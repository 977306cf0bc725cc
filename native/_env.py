"""Space environment: Sun ephemeris, Earth shadow and atmospheric density (typed wrappers).

Kernels (registered with :mod:`native.backend`; Numba in :mod:`native._env_numba`, NumPy
references in :mod:`native._env_ref`): ``env_sun``, ``env_shadow``, ``env_density``.
Units: metres, seconds, kg/m^3; ECI is the mean-of-date equatorial frame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from native._env_numba import (
    DENSITY_EXPONENTIAL,
    DENSITY_HARRIS_PRIESTER,
    DENSITY_SCALED_EXPONENTIAL,
    EXPONENTIAL_TABLE,
    HARRIS_PRIESTER_TABLE,
    SHADOW_CONICAL,
    SHADOW_CYLINDRICAL,
    activity_log_factor,
    density_batch_kernel,
    shadow_batch_kernel,
    sun_batch_kernel,
)
from native._env_ref import density_batch_ref, shadow_batch_ref, sun_batch_ref
from native._orbit_args import as_f64
from native.backend import register_kernel
from native.constants import J2000_JD
from native.errors import KernelArgumentError

__all__ = [
    "DENSITY_MODELS",
    "SHADOW_MODELS",
    "atmospheric_density",
    "days_since_j2000",
    "density_model_setup",
    "shadow_fraction",
    "sun_position",
]

#: Shadow model names -> kernel codes.
SHADOW_MODELS = {"cylindrical": SHADOW_CYLINDRICAL, "conical": SHADOW_CONICAL}
#: Density model names -> kernel codes.
DENSITY_MODELS = {
    "exponential": DENSITY_EXPONENTIAL,
    "scaled_exponential": DENSITY_SCALED_EXPONENTIAL,
    "harris_priester": DENSITY_HARRIS_PRIESTER,
}

_sun = register_kernel("env_sun", {"numba": sun_batch_kernel, "python": sun_batch_ref})
_shadow = register_kernel("env_shadow", {"numba": shadow_batch_kernel, "python": shadow_batch_ref})
_density = register_kernel(
    "env_density", {"numba": density_batch_kernel, "python": density_batch_ref}
)

_UNIX_EPOCH_JD = 2440587.5


def days_since_j2000(unix_ns: int) -> float:
    """Days since J2000.0 (2000-01-01T12:00) of a UTC time in ns since the Unix epoch."""
    days, rem = divmod(int(unix_ns), 86_400_000_000_000)
    return (_UNIX_EPOCH_JD - J2000_JD) + days + rem / 86_400e9


def sun_position(days_j2000: ArrayLike) -> NDArray[np.float64]:
    """Unit vector to the Sun and its distance: rows (ux, uy, uz, dist_m), shape (M, 4).

    Low-precision solar ephemeris (Vallado algorithm 29, ~0.01 deg); a scalar input gives
    shape (4,).
    """
    scalar = np.ndim(days_j2000) == 0
    days = as_f64(np.atleast_1d(days_j2000), "days_j2000", (None,))
    out = np.empty((days.shape[0], 4))
    _sun(days, out)
    return out[0] if scalar else out


def shadow_fraction(
    r_eci_m: ArrayLike, sun: ArrayLike, model: str = "conical"
) -> NDArray[np.float64]:
    """Sunlit fraction (0 umbra .. 1 full sun) of positions (M, 3) for Sun rows (M, 4)."""
    if model not in SHADOW_MODELS:
        raise KernelArgumentError(
            f"shadow model {model!r} is not one of {', '.join(SHADOW_MODELS)}"
        )
    r = as_f64(r_eci_m, "r_eci_m", (None, 3))
    s = as_f64(sun, "sun", (r.shape[0], 4))
    out = np.empty(r.shape[0])
    _shadow(r, s, SHADOW_MODELS[model], out)
    return out


def density_model_setup(model: str, f107_sfu: float) -> tuple[int, NDArray[np.float64], float]:
    """(kernel code, table, log activity factor at 550 km) of a density model name."""
    if model not in DENSITY_MODELS:
        raise KernelArgumentError(
            f"density model {model!r} is not one of {', '.join(DENSITY_MODELS)}"
        )
    code = DENSITY_MODELS[model]
    table = HARRIS_PRIESTER_TABLE if code == DENSITY_HARRIS_PRIESTER else EXPONENTIAL_TABLE
    if not (math.isfinite(f107_sfu) and f107_sfu > 0):
        raise KernelArgumentError(f"f107_sfu must be positive, got {f107_sfu!r}")
    act = 0.0 if code == DENSITY_EXPONENTIAL else activity_log_factor(f107_sfu)
    return code, np.ascontiguousarray(table), act


def atmospheric_density(
    r_eci_m: ArrayLike,
    model: str = "exponential",
    f107_sfu: float = 150.0,
    bulge_unit: Any = None,
) -> NDArray[np.float64]:
    """Density (kg/m^3) at positions (M, 3).

    ``model``: ``exponential`` (Vallado table 8-4), ``scaled_exponential`` (times the solar
    activity factor of ``f107_sfu``) or ``harris_priester`` (diurnal bulge apex
    ``bulge_unit``, ECI unit vector, default +x; times the activity factor).
    """
    code, table, act = density_model_setup(model, float(f107_sfu))
    r = as_f64(r_eci_m, "r_eci_m", (None, 3))
    bulge = as_f64([1.0, 0.0, 0.0] if bulge_unit is None else bulge_unit, "bulge_unit", (3,))
    out = np.empty(r.shape[0])
    _density(r, bulge, code, table, act, out)
    return out
