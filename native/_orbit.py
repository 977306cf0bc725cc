"""Orbit propagation: numeric RK4 (point mass + J2 + drag) and analytic J2 mean elements.

Typed wrappers over kernels registered with :mod:`native.backend` (Numba in
:mod:`native._orbit_numba`, NumPy references in :mod:`native._orbit_ref`):
``orbit_rk4``, ``orbit_propagate_j2``, ``orbit_elements_to_state``,
``orbit_state_to_elements``. Equations in :mod:`native._orbit_numba`.

Units: m, s, rad, kg. States are rows (x, y, z, vx, vy, vz) in ECI; elements are rows
(a_m, e, i_rad, raan_rad, argp_rad, mean_anomaly_rad).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from native._env import density_model_setup
from native._orbit_args import as_f64, check_out
from native._orbit_numba import (
    elements_to_state_kernel,
    propagate_j2_kernel,
    rk4_batch_kernel,
    rk4_step,
    state_to_elements_kernel,
)
from native._orbit_ref import (
    elements_to_state_ref,
    propagate_j2_ref,
    rk4_batch_ref,
    state_to_elements_ref,
)
from native.backend import register_kernel
from native.constants import EARTH_RADIUS_M, EARTH_ROTATION_RAD_S, J2, MU_EARTH_M3_S2
from native.errors import KernelArgumentError

__all__ = [
    "elements_to_state",
    "j2_secular_rates",
    "propagate_j2_batch",
    "propagate_rk4_batch",
    "rk4_accel_step",
    "state_to_elements",
]

F64 = NDArray[np.float64]

_rk4 = register_kernel("orbit_rk4", {"numba": rk4_batch_kernel, "python": rk4_batch_ref})
_j2 = register_kernel(
    "orbit_propagate_j2", {"numba": propagate_j2_kernel, "python": propagate_j2_ref}
)
_el2st = register_kernel(
    "orbit_elements_to_state",
    {"numba": elements_to_state_kernel, "python": elements_to_state_ref},
)
_rk4_step = register_kernel(
    "orbit_rk4_step",
    {"numba": rk4_step, "python": rk4_step.py_func},  # type: ignore[attr-defined]
)
_NO_DENSITY = np.zeros((2, 4), dtype=np.float64)  # drag off: the table is never read
_st2el = register_kernel(
    "orbit_state_to_elements",
    {"numba": state_to_elements_kernel, "python": state_to_elements_ref},
)


def _elements(value: ArrayLike, name: str = "elements") -> F64:
    el = as_f64(value, name, (None, 6))
    if np.any(el[:, 0] <= 0) or np.any((el[:, 1] < 0) | (el[:, 1] >= 1)):
        raise KernelArgumentError(f"{name}: need a > 0 and 0 <= e < 1")
    return el


def elements_to_state(elements: ArrayLike) -> F64:
    """Classical elements (N, 6) -> ECI states (N, 6) (two-body)."""
    el = _elements(elements)
    out = np.empty((el.shape[0], 6))
    _el2st(el, out)
    return out


def state_to_elements(states: ArrayLike) -> F64:
    """ECI states (N, 6) -> osculating classical elements (N, 6), angles in [0, 2 pi)."""
    st = as_f64(states, "states", (None, 6))
    out = np.empty((st.shape[0], 6))
    _st2el(st, out)
    return out


def j2_secular_rates(elements: ArrayLike, j2: float = J2) -> F64:
    """First-order J2 secular rates (N, 3): dRAAN/dt, dargp/dt, dM/dt (rad/s)."""
    el = _elements(elements)
    a, e, inc = el[:, 0], el[:, 1], el[:, 2]
    n = np.sqrt(MU_EARTH_M3_S2 / a**3)
    q = j2 * (EARTH_RADIUS_M / (a * (1 - e**2))) ** 2
    c = np.cos(inc)
    return np.column_stack(
        [
            -1.5 * n * q * c,
            0.75 * n * q * (5 * c**2 - 1),
            n * (1 + 0.75 * q * np.sqrt(1 - e**2) * (3 * c**2 - 1)),
        ]
    )


def propagate_j2_batch(
    elements: ArrayLike,
    times_s: ArrayLike,
    *,
    adot_m_s: ArrayLike | None = None,
    j2: float = J2,
    positions_only: bool = False,
    out: Any = None,
) -> F64:
    """Analytic propagation of mean elements (N, 6) at t = 0 to ``times_s`` (M,).

    Kepler motion with the first-order J2 secular rates of RAAN, argument of perigee and
    mean anomaly, and an optional secular semi-major axis rate ``adot_m_s`` (N,) (drag
    decay). Returns ECI states (N, M, 6), or positions (N, M, 3) with ``positions_only``;
    ``out`` may be given (float64, C-contiguous, that shape).
    """
    el = _elements(elements)
    times = as_f64(times_s, "times_s", (None,))
    n = el.shape[0]
    adot = np.zeros(n) if adot_m_s is None else as_f64(adot_m_s, "adot_m_s", (n,))
    shape = (n, times.shape[0], 3 if positions_only else 6)
    res = np.empty(shape) if out is None else check_out(out, "out", shape)
    _j2(el, adot, times, float(j2), res)
    return res


def propagate_rk4_batch(
    states: ArrayLike,
    step_s: float,
    n_steps: int,
    *,
    cdam_m2_kg: ArrayLike | float = 0.0,
    j2: float = J2,
    density_model: str = "exponential",
    f107_sfu: float = 150.0,
    corotation: bool = True,
    bulge_unit: Any = None,
) -> F64:
    """Numeric propagation of ECI states (N, 6) by ``n_steps`` RK4 steps of ``step_s`` s.

    Force model: point mass + J2 (``j2``, 0 disables) + drag with ``cdam_m2_kg`` = C_D A / m
    (scalar or (N,); 0 disables) in the density model of :func:`native.atmospheric_density`
    (``bulge_unit`` fixed for Harris-Priester), atmosphere co-rotating if ``corotation``.
    Returns the new states (N, 6); the input is not modified.
    """
    st = as_f64(states, "states", (None, 6)).copy()
    n = st.shape[0]
    cdam = as_f64(np.broadcast_to(cdam_m2_kg, (n,)), "cdam_m2_kg", (n,))
    if not step_s > 0 or n_steps < 0:
        raise KernelArgumentError("step_s must be > 0 and n_steps >= 0")
    code, table, act = density_model_setup(density_model, float(f107_sfu))
    bulge = as_f64([1.0, 0.0, 0.0] if bulge_unit is None else bulge_unit, "bulge_unit", (3,))
    omega = EARTH_ROTATION_RAD_S if corotation else 0.0
    _rk4(st, cdam, int(n_steps), float(step_s), float(j2), omega, code, table, act, bulge)
    return st


def rk4_accel_step(
    state: NDArray[np.float64],
    h_s: float,
    accel_m_s2: tuple[float, float, float] = (0.0, 0.0, 0.0),
    j2: float = J2,
) -> None:
    """One RK4 step of ``h_s`` seconds, point mass + J2 plus a constant extra acceleration
    (m/s^2, ECI: a thrust arc or a drag model of the caller's), on ``state`` (6,) in place.

    ``state`` must be a C-contiguous, writable float64 array of shape (6,) (checked).
    """
    if (
        not isinstance(state, np.ndarray)
        or state.dtype != np.float64
        or state.shape != (6,)
        or not state.flags.c_contiguous
        or not state.flags.writeable
    ):
        raise KernelArgumentError(
            "state must be a writable, C-contiguous float64 array of shape (6,)"
        )
    ax, ay, az = accel_m_s2
    mag = math.sqrt(ax * ax + ay * ay + az * az)
    if mag > 0.0:
        _rk4_step(state, float(h_s), float(j2), 0.0, 0.0, 0, _NO_DENSITY, 0.0, 1.0, 0.0, 0.0,
                  mag, 1.0, 0.0, ax / mag, ay / mag, az / mag)  # fmt: skip
    else:
        _rk4_step(state, float(h_s), float(j2), 0.0, 0.0, 0, _NO_DENSITY, 0.0, 1.0, 0.0, 0.0,
                  0.0, 1.0, 0.0, 0.0, 0.0, 0.0)  # fmt: skip
