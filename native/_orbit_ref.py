"""Pure-NumPy references of the orbit kernels (the test oracle of :mod:`native._orbit_numba`).

Vectorised over satellites, written for clarity (rotation matrices, a generic RK4), with the
same calling conventions as the Numba batch kernels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from native._env_ref import density_batch_ref
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2

__all__ = [
    "acceleration_ref",
    "elements_to_state_ref",
    "propagate_j2_ref",
    "rk4_batch_ref",
    "state_to_elements_ref",
]

F64 = NDArray[np.float64]


def acceleration_ref(
    states: F64,
    j2: float,
    cdam: F64,
    omega_atm: float,
    dmodel: int,
    dtab: F64,
    act_ln550: float,
    bulge: F64,
) -> F64:
    """Point mass + J2 + drag acceleration (N, 3) for states (N, 6)."""
    r = states[:, 0:3]
    v = states[:, 3:6]
    rn = np.linalg.norm(r, axis=1, keepdims=True)
    acc = -MU_EARTH_M3_S2 * r / rn**3
    z2 = (r[:, 2:3] / rn) ** 2
    factor = 1.5 * j2 * MU_EARTH_M3_S2 * EARTH_RADIUS_M**2 / rn**5
    acc = acc + factor * r * np.hstack([5 * z2 - 1, 5 * z2 - 1, 5 * z2 - 3])
    v_rel = v - np.cross(np.array([0.0, 0.0, omega_atm]), r)
    rho = np.empty(len(states))
    density_batch_ref(r, bulge, dmodel, dtab, act_ln550, rho)
    speed = np.linalg.norm(v_rel, axis=1, keepdims=True)
    out: F64 = acc - 0.5 * (rho * cdam)[:, None] * speed * v_rel
    return out


def rk4_batch_ref(
    states: F64,
    cdam: F64,
    n_steps: int,
    h: float,
    j2: float,
    omega_atm: float,
    dmodel: int,
    dtab: F64,
    act_ln550: float,
    bulge: F64,
) -> None:
    """Classical RK4 of ``n_steps`` steps of ``h`` s on every row of ``states``, in place."""

    def deriv(s: F64) -> F64:
        a = acceleration_ref(s, j2, cdam, omega_atm, dmodel, dtab, act_ln550, bulge)
        return np.hstack([s[:, 3:6], a])

    y = states.copy()
    for _ in range(n_steps):
        k1 = deriv(y)
        k2 = deriv(y + 0.5 * h * k1)
        k3 = deriv(y + 0.5 * h * k2)
        k4 = deriv(y + h * k3)
        y = y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    states[:] = y


def _rot3(angle: F64) -> F64:
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def _rot1(angle: F64) -> F64:
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2
    )


def _solve_kepler(m: F64, e: F64) -> F64:
    ecc = np.where(e < 0.8, m, np.pi + m - np.mod(m, 2 * np.pi))
    for _ in range(50):
        d = (ecc - e * np.sin(ecc) - m) / (1 - e * np.cos(ecc))
        ecc = ecc - d
        if np.all(np.abs(d) < 1e-14 * (1 + np.abs(ecc))):
            break
    return ecc


def _perifocal_to_eci(a: F64, e: F64, inc: F64, raan: F64, argp: F64, m: F64) -> F64:
    ecc = _solve_kepler(m, e)
    n = np.sqrt(MU_EARTH_M3_S2 / a**3)
    eta = np.sqrt(1 - e**2)
    r_pf = np.stack([a * (np.cos(ecc) - e), a * eta * np.sin(ecc), np.zeros_like(a)], -1)
    speed = n * a / (1 - e * np.cos(ecc))
    v_pf = np.stack([-speed * np.sin(ecc), speed * eta * np.cos(ecc), np.zeros_like(a)], -1)
    rot = _rot3(raan) @ _rot1(inc) @ _rot3(argp)
    r = np.einsum("...ij,...j->...i", rot, r_pf)
    v = np.einsum("...ij,...j->...i", rot, v_pf)
    return np.concatenate([r, v], axis=-1)


def elements_to_state_ref(el: F64, out: F64) -> None:
    """Classical elements (N, 6) -> ECI states (N, 6)."""
    out[:] = _perifocal_to_eci(el[:, 0], el[:, 1], el[:, 2], el[:, 3], el[:, 4], el[:, 5])


def state_to_elements_ref(st: F64, out: F64) -> None:
    """ECI states (N, 6) -> osculating elements (N, 6) (Vallado RV2COE); angles in [0, 2 pi).

    Degenerate cases, defined as in the kernels: a circular orbit (e <= 1e-12) has argument
    of perigee 0 (the mean anomaly carries the argument of latitude); an equatorial orbit
    (|h x z| <= 1e-12 |h|, inclination 0 or pi) has RAAN 0 and its node on the +x axis, so
    angles are measured from +x about the angular momentum (true longitude when circular).
    """
    r, v = st[:, 0:3], st[:, 3:6]
    rn = np.linalg.norm(r, axis=1)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=1)
    node = np.cross(np.array([0.0, 0.0, 1.0]), h)
    nn = np.linalg.norm(node, axis=1)
    v2 = np.einsum("ij,ij->i", v, v)
    rv = np.einsum("ij,ij->i", r, v)
    e_vec = ((v2 - MU_EARTH_M3_S2 / rn)[:, None] * r - rv[:, None] * v) / MU_EARTH_M3_S2
    e = np.linalg.norm(e_vec, axis=1)
    a = 1.0 / (2.0 / rn - v2 / MU_EARTH_M3_S2)
    inc = np.arccos(np.clip(h[:, 2] / hn, -1, 1))
    equatorial = nn <= 1e-12 * hn
    raan = np.where(equatorial, 0.0, np.arctan2(node[:, 1], node[:, 0]))
    # An equatorial orbit has no line of nodes: take +x, as the kernels do.
    safe_nn = np.where(equatorial, 1.0, nn)
    n_hat = np.where(equatorial[:, None], np.array([1.0, 0.0, 0.0]), node / safe_nn[:, None])
    h_hat = h / hn[:, None]
    # Argument of latitude: angle from the node to r, measured about h.
    u = np.arctan2(
        np.einsum("ij,ij->i", np.cross(n_hat, r), h_hat), np.einsum("ij,ij->i", n_hat, r)
    )
    circular = e <= 1e-12
    argp = np.arctan2(
        np.einsum("ij,ij->i", np.cross(n_hat, e_vec), h_hat),
        np.einsum("ij,ij->i", n_hat, e_vec),
    )
    argp = np.where(circular, 0.0, argp)
    nu = u - argp
    ecc = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    m = ecc - e * np.sin(ecc)
    out[:, 0] = a
    out[:, 1] = e
    out[:, 2] = inc
    out[:, 3] = np.mod(raan, 2 * np.pi)
    out[:, 4] = np.mod(argp, 2 * np.pi)
    out[:, 5] = np.mod(m, 2 * np.pi)


def propagate_j2_ref(el: F64, adot: F64, times: F64, j2: float, out: F64) -> None:
    """Mean elements + J2 secular rates + secular decay -> states (N, M, 6 or 3)."""
    a0, e, inc, raan0, argp0, m0 = (el[:, k : k + 1] for k in range(6))
    n0 = np.sqrt(MU_EARTH_M3_S2 / a0**3)
    p = a0 * (1 - e**2)
    q = j2 * (EARTH_RADIUS_M / p) ** 2
    ci = np.cos(inc)
    raan_dot = -1.5 * n0 * q * ci
    argp_dot = 0.75 * n0 * q * (5 * ci**2 - 1)
    m_dot = n0 * (1 + 0.75 * q * np.sqrt(1 - e**2) * (3 * ci**2 - 1))
    t = times[None, :]
    ad = adot[:, None]
    a = a0 + ad * t
    m = m0 + m_dot * t - 0.75 * n0 / a0 * ad * t**2
    shape = a.shape
    full = _perifocal_to_eci(
        a,
        np.broadcast_to(e, shape),
        np.broadcast_to(inc, shape),
        raan0 + raan_dot * t,
        argp0 + argp_dot * t,
        m,
    )
    out[:] = full[..., : out.shape[2]]
