"""Pure-NumPy references of the thermal kernels (the test oracle of :mod:`native._thermal_numba`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from native._thermal_numba import SURF_ALPHA, SURF_AREA, SURF_EPS, SURF_NODE, SURF_NX, SURF_VARIABLE
from native.constants import SIGMA_W_M2_K4

__all__ = ["thermal_step_ref", "view_factor_ref"]

F64 = NDArray[np.float64]


def view_factor_ref(cos_gamma: F64, h_ratio: float) -> F64:
    """Plate-to-Earth view factor for each cosine (Howell's catalogue, see the kernel)."""
    h = h_ratio
    c = np.clip(np.asarray(cos_gamma, dtype=np.float64), -1.0, 1.0)
    gamma = np.arccos(c)
    full = c / h**2
    root = np.sqrt(h**2 - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        partial = (
            0.5
            - np.arcsin(np.clip(root / (h * np.sin(gamma)), -1, 1)) / np.pi
            + (
                c * np.arccos(np.clip(-root / np.tan(gamma), -1, 1))
                - root * np.sqrt(np.maximum(0.0, 1 - h**2 * c**2))
            )
            / (np.pi * h**2)
        )
    out = np.where(c >= 1 / h, full, np.where(c <= -1 / h, 0.0, partial))
    return np.maximum(out, 0.0)


def thermal_step_ref(
    temp_k: F64,
    cap_j_k: F64,
    cond_w_k: F64,
    q_int_w: F64,
    surf: F64,
    eps_variable: float,
    sun_body: F64,
    sunlit_frac: float,
    solar_flux_w_m2: float,
    nadir_body: F64,
    h_ratio: float,
    albedo_cos_zeta: float,
    earth_ir_w_m2: float,
    dt_s: float,
    work: F64,
) -> None:
    """One linearised backward-Euler step, in place on ``temp_k`` (``work`` unused)."""
    del work
    n = temp_k.shape[0]
    g = cond_w_k.copy()
    np.fill_diagonal(g, 0.0)
    laplacian = g - np.diag(g.sum(axis=1))  # conduction: L @ T = sum_j G_ij (T_j - T_i)
    node = surf[:, SURF_NODE].astype(np.int64)
    area = surf[:, SURF_AREA]
    eps = np.where(surf[:, SURF_VARIABLE] != 0, eps_variable, surf[:, SURF_EPS])
    normals = surf[:, SURF_NX : SURF_NX + 3]
    fe = view_factor_ref(normals @ nadir_body, h_ratio)
    absorbed = (
        surf[:, SURF_ALPHA] * area * solar_flux_w_m2
        * (sunlit_frac * np.maximum(0.0, normals @ sun_body) + albedo_cos_zeta * fe)
        + eps * area * earth_ir_w_m2 * fe
    )  # fmt: skip
    t_s = temp_k[node]
    emitted = eps * SIGMA_W_M2_K4 * area * t_s**4
    d_emitted = 4 * eps * SIGMA_W_M2_K4 * area * t_s**3
    f = q_int_w + laplacian @ temp_k + np.bincount(node, absorbed - emitted, minlength=n)
    jac = laplacian - np.diag(np.bincount(node, d_emitted, minlength=n))
    temp_k += np.linalg.solve(np.diag(cap_j_k / dt_s) - jac, f)
