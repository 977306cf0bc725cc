"""Lumped-parameter thermal network kernels (typed wrappers).

Kernels (registered with :mod:`native.backend`; Numba in :mod:`native._thermal_numba`,
NumPy references in :mod:`native._thermal_ref`): ``thermal_step`` (``n_steps`` linearised
backward-Euler steps) and ``thermal_view_factor``. The equations are in
:mod:`native._thermal_numba`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from native._orbit_args import as_f64
from native._thermal_numba import SURF_COLUMNS
from native._thermal_numba import thermal_step as _step_numba
from native._thermal_numba import view_factor_plate_earth as _vf_numba
from native._thermal_ref import thermal_step_ref, view_factor_ref
from native.backend import register_kernel
from native.errors import KernelArgumentError
from native.jit import kernel

__all__ = ["SURF_COLUMNS", "thermal_step", "view_factor_plate_earth"]

F64 = NDArray[np.float64]


@kernel
def _steps_numba(
    temp_k: F64, cap: F64, cond: F64, q: F64, surf: F64, eps_var: float, sun_b: F64,
    sunlit: float, flux: float, nadir_b: F64, h_ratio: float, alb: float, ir: float,
    dt: float, n_steps: int, work: F64,
) -> None:  # fmt: skip
    for _ in range(n_steps):
        _step_numba(temp_k, cap, cond, q, surf, eps_var, sun_b, sunlit, flux, nadir_b,
                    h_ratio, alb, ir, dt, work)  # fmt: skip


def _steps_ref(
    temp_k: F64, cap: F64, cond: F64, q: F64, surf: F64, eps_var: float, sun_b: F64,
    sunlit: float, flux: float, nadir_b: F64, h_ratio: float, alb: float, ir: float,
    dt: float, n_steps: int, work: F64,
) -> None:  # fmt: skip
    for _ in range(n_steps):
        thermal_step_ref(temp_k, cap, cond, q, surf, eps_var, sun_b, sunlit, flux, nadir_b,
                         h_ratio, alb, ir, dt, work)  # fmt: skip


@kernel
def _vf_batch_numba(cos_gamma: F64, h_ratio: float, out: F64) -> None:
    for k in range(cos_gamma.shape[0]):
        out[k] = _vf_numba(cos_gamma[k], h_ratio)


def _vf_batch_ref(cos_gamma: F64, h_ratio: float, out: F64) -> None:
    out[:] = view_factor_ref(cos_gamma, h_ratio)


_steps = register_kernel("thermal_step", {"numba": _steps_numba, "python": _steps_ref})
_vf = register_kernel("thermal_view_factor", {"numba": _vf_batch_numba, "python": _vf_batch_ref})


def view_factor_plate_earth(cos_gamma: ArrayLike, h_ratio: float) -> F64:
    """View factor from flat plates (cosine of normal-to-nadir angle) to the Earth.

    ``h_ratio`` = distance from the Earth's centre / Earth radius (> 1).
    """
    c = as_f64(np.atleast_1d(cos_gamma), "cos_gamma", (None,))
    if not h_ratio > 1.0:
        raise KernelArgumentError(f"h_ratio must be > 1, got {h_ratio!r}")
    out = np.empty(c.shape[0])
    _vf(c, float(h_ratio), out)
    return out


def thermal_step(
    temp_k: ArrayLike,
    cap_j_k: ArrayLike,
    cond_w_k: ArrayLike,
    q_int_w: ArrayLike,
    surfaces: ArrayLike,
    *,
    dt_s: float,
    n_steps: int = 1,
    eps_variable: float = 0.0,
    sun_body: Any = (1.0, 0.0, 0.0),
    sunlit_frac: float = 0.0,
    solar_flux_w_m2: float = 1361.0,
    nadir_body: Any = (0.0, 0.0, 1.0),
    h_ratio: float = 1e9,
    albedo_cos_zeta: float = 0.0,
    earth_ir_w_m2: float = 0.0,
) -> F64:
    """New node temperatures (K) after ``n_steps`` steps of ``dt_s`` with fixed inputs.

    ``temp_k`` (n,), ``cap_j_k`` (n,) J/K, ``cond_w_k`` (n, n) W/K symmetric, ``q_int_w`` (n,)
    W, ``surfaces`` (S, 8) rows (node, area m^2, alpha, eps, nx, ny, nz, variable), see
    :mod:`native._thermal_numba`. The default ``h_ratio`` puts the Earth out of view.
    """
    t = as_f64(temp_k, "temp_k", (None,)).copy()
    n = t.shape[0]
    cap = as_f64(cap_j_k, "cap_j_k", (n,))
    cond = as_f64(cond_w_k, "cond_w_k", (n, n))
    q = as_f64(q_int_w, "q_int_w", (n,))
    surf = as_f64(surfaces, "surfaces", (None, SURF_COLUMNS))
    if surf.shape[0] and (surf[:, 0].min() < 0 or surf[:, 0].max() >= n):
        raise KernelArgumentError("surfaces: node index out of range")
    if np.any(cap <= 0) or not dt_s > 0 or n_steps < 0:
        raise KernelArgumentError("capacitances and dt_s must be > 0, n_steps >= 0")
    if not h_ratio > 1.0:
        raise KernelArgumentError(f"h_ratio must be > 1, got {h_ratio!r}")
    sun = as_f64(sun_body, "sun_body", (3,))
    nadir = as_f64(nadir_body, "nadir_body", (3,))
    work = np.zeros((n, n + 1))
    _steps(t, cap, cond, q, surf, float(eps_variable), sun, float(sunlit_frac),
           float(solar_flux_w_m2), nadir, float(h_ratio), float(albedo_cos_zeta),
           float(earth_ir_w_m2), float(dt_s), int(n_steps), work)  # fmt: skip
    return t
