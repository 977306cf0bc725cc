"""Numba kernels of the lumped-parameter thermal network.

Node equation (REFERENCE.md, per node i, SI units)::

    C_i dT_i/dt = Q_int,i
                + sum_s [ alpha_s A_s G_s (f_sun max(0, n_s . s) + a cos(zeta) F_s)
                          + eps_s A_s q_IR F_s - eps_s sigma A_s T_i^4 ]
                + sum_j G_ij (T_j - T_i)

over the external surfaces s of node i (normal ``n_s`` in the body frame), with ``F_s`` the
view factor from a flat plate to the Earth (:func:`view_factor_plate_earth`), ``f_sun`` the
sunlit fraction, ``a cos(zeta)`` the albedo times the cosine of the Sun's zenith angle at the
sub-satellite point and ``q_IR`` the Earth's long-wave flux.

:func:`thermal_step` integrates one step with a linearised backward Euler (Rosenbrock-Euler)
scheme: ``(C/dt - J) dT = f(T_n)`` where ``J`` is the exact Jacobian of ``f`` (conduction and
``-4 eps sigma A T^3``). It is stable for any step and its fixed point is the exact steady
state ``f(T) = 0``. The system matrix is a strictly diagonally dominant M-matrix, so Gaussian
elimination without pivoting is safe. The NumPy reference is :mod:`native._thermal_ref`.

Surface table columns (``surf[k, :]``): node index, area (m^2), absorptivity, emissivity,
normal x, y, z (body frame, unit), variable flag (1: use the commanded radiator emissivity).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from native.constants import SIGMA_W_M2_K4
from native.jit import kernel

__all__ = [
    "SURF_ALPHA",
    "SURF_AREA",
    "SURF_COLUMNS",
    "SURF_EPS",
    "SURF_NODE",
    "SURF_NX",
    "SURF_VARIABLE",
    "thermal_step",
    "view_factor_plate_earth",
]

SURF_NODE = 0
SURF_AREA = 1
SURF_ALPHA = 2
SURF_EPS = 3
SURF_NX = 4
SURF_VARIABLE = 7
SURF_COLUMNS = 8


@kernel
def view_factor_plate_earth(cos_gamma: float, h_ratio: float) -> float:
    """View factor from a one-sided flat plate to a spherical Earth.

    ``cos_gamma``: cosine of the angle between the plate normal and nadir; ``h_ratio`` =
    distance from the Earth's centre / Earth radius (> 1). Fully seeing the Earth
    (gamma <= acos(1/H)): ``cos(gamma) / H^2``; partly (Howell's catalogue, plate tilted
    to a sphere)::

        F = 1/2 - asin(sqrt(H^2 - 1) / (H sin g)) / pi
            + [cos g acos(-sqrt(H^2 - 1) cot g) - sqrt(H^2 - 1) sqrt(1 - H^2 cos^2 g)] / (pi H^2)

    and 0 beyond gamma = pi/2 + asin(1/H). At 550 km: 0.85 facing nadir, 0.26 edge-on.
    """
    h = h_ratio
    c = max(-1.0, min(1.0, cos_gamma))
    if c >= 1.0 / h:
        return c / (h * h)
    s = math.sqrt(max(0.0, 1.0 - c * c))
    root = math.sqrt(h * h - 1.0)
    if c <= -1.0 / h or s == 0.0:
        return 0.0
    x = root / (h * s)
    f = (
        0.5
        - math.asin(min(1.0, x)) / math.pi
        + (
            c * math.acos(max(-1.0, min(1.0, -root * c / s)))
            - root * math.sqrt(max(0.0, 1.0 - h * h * c * c))
        )
        / (math.pi * h * h)
    )
    return max(0.0, f)


@kernel
def thermal_step(
    temp_k: NDArray[np.float64],
    cap_j_k: NDArray[np.float64],
    cond_w_k: NDArray[np.float64],
    q_int_w: NDArray[np.float64],
    surf: NDArray[np.float64],
    eps_variable: float,
    sun_body: NDArray[np.float64],
    sunlit_frac: float,
    solar_flux_w_m2: float,
    nadir_body: NDArray[np.float64],
    h_ratio: float,
    albedo_cos_zeta: float,
    earth_ir_w_m2: float,
    dt_s: float,
    work: NDArray[np.float64],
) -> None:
    """Advance node temperatures ``temp_k`` (n,) by ``dt_s`` in place (see module docstring).

    ``cap_j_k`` (n,) capacitances, ``cond_w_k`` (n, n) symmetric conductances (diagonal
    ignored), ``q_int_w`` (n,) internal loads (dissipation + heaters), ``surf`` (S, 8) the
    surface table, ``sun_body``/``nadir_body`` unit vectors in the body frame, ``work``
    (n, n + 1) scratch space (the kernel does not allocate).
    """
    n = temp_k.shape[0]
    # Right-hand side f(T) in column n, matrix C/dt - J in columns 0..n-1.
    for i in range(n):
        ti = temp_k[i]
        rhs = q_int_w[i]
        diag = cap_j_k[i] / dt_s
        for j in range(n):
            if j != i:
                g = cond_w_k[i, j]
                rhs += g * (temp_k[j] - ti)
                diag += g
                work[i, j] = -g
        work[i, i] = diag
        work[i, n] = rhs
    for k in range(surf.shape[0]):
        i = int(surf[k, SURF_NODE])
        area = surf[k, SURF_AREA]
        alpha = surf[k, SURF_ALPHA]
        eps = eps_variable if surf[k, SURF_VARIABLE] != 0.0 else surf[k, SURF_EPS]
        nx = surf[k, SURF_NX]
        ny = surf[k, SURF_NX + 1]
        nz = surf[k, SURF_NX + 2]
        cos_sun = nx * sun_body[0] + ny * sun_body[1] + nz * sun_body[2]
        cos_nadir = nx * nadir_body[0] + ny * nadir_body[1] + nz * nadir_body[2]
        fe = view_factor_plate_earth(cos_nadir, h_ratio)
        q_abs = (
            alpha
            * area
            * solar_flux_w_m2
            * (sunlit_frac * max(0.0, cos_sun) + albedo_cos_zeta * fe)
            + eps * area * earth_ir_w_m2 * fe
        )
        ti = temp_k[i]
        t3 = ti * ti * ti
        work[i, n] += q_abs - eps * SIGMA_W_M2_K4 * area * t3 * ti
        work[i, i] += 4.0 * eps * SIGMA_W_M2_K4 * area * t3
    # Gaussian elimination (no pivoting: strictly diagonally dominant M-matrix).
    for p in range(n):
        piv = work[p, p]
        for r in range(p + 1, n):
            f = work[r, p] / piv
            if f != 0.0:
                for c in range(p, n + 1):
                    work[r, c] -= f * work[p, c]
    for p in range(n - 1, -1, -1):
        acc = work[p, n]
        for c in range(p + 1, n):
            acc -= work[p, c] * work[c, n]
        work[p, n] = acc / work[p, p]
    for i in range(n):
        temp_k[i] += work[i, n]
