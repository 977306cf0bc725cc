"""Conjunction screening and the probability of collision.

Screening: own and object trajectories sampled on a common grid; within each sample interval
the relative motion is taken as linear (closest approach of ``dr + dv tau``), intervals under
``screen_distance_m`` are kept, and the time of closest approach (TCA) is refined by Newton
iteration on ``dr . dv = 0`` with the onboard propagator from the nearest samples.

Probability of collision (2-D encounter plane, Foster & Estes 1992; Chan 2008): with the
combined position covariance ``C = C_own + C_obj`` projected on the plane normal to the
relative velocity, and the miss vector ``m`` in that plane,

    Pc = integral over |x| <= R of N(x; m, C_2d) dx

computed numerically over the hard-body circle (Gauss-Legendre in radius, trapezoid in angle,
which is spectrally accurate for the periodic angle integrand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flight.gnc._propagator import OrbitPropagator

__all__ = [
    "Conjunction",
    "collision_probability",
    "encounter_frame",
    "linear_closest_approach",
    "refine_tca",
    "rtn_covariance_to_eci",
]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_N_THETA = 64
_THETA = np.arange(_N_THETA) * (2.0 * math.pi / _N_THETA)


@dataclass(frozen=True, slots=True)
class Conjunction:
    """A close approach found by screening (times in onboard seconds)."""

    name: str
    tca_s: float
    miss_m: float
    rel_speed_m_s: float
    pc: float
    radial_m: float  #: miss component along the own radial direction


def rtn_covariance_to_eci(
    state: ArrayLike, sigma_rtn_m: tuple[float, float, float]
) -> NDArray[np.float64]:
    """Diagonal radial/along-track/cross-track covariance (sigmas, m) rotated to ECI (3, 3)."""
    s = np.asarray(state, dtype=np.float64)
    r_hat = s[0:3] / np.linalg.norm(s[0:3])
    n_hat = np.cross(s[0:3], s[3:6])
    n_hat /= np.linalg.norm(n_hat)
    t_hat = np.cross(n_hat, r_hat)
    rot = np.stack([r_hat, t_hat, n_hat], axis=1)
    return rot @ np.diag(np.square(sigma_rtn_m)) @ rot.T  # type: ignore[no-any-return]


def encounter_frame(rel_vel: ArrayLike) -> NDArray[np.float64]:
    """(2, 3) orthonormal basis of the plane normal to the relative velocity."""
    w = np.asarray(rel_vel, dtype=np.float64)
    w = w / np.linalg.norm(w)
    helper = np.array([0.0, 0.0, 1.0]) if abs(w[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(w, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(w, e1)
    return np.stack([e1, e2])


def collision_probability(
    miss_m: ArrayLike, rel_vel_m_s: ArrayLike, cov_m2: ArrayLike, hard_body_radius_m: float
) -> float:
    """2-D encounter-plane Pc of a miss vector (3,), relative velocity (3,), combined position
    covariance (3, 3) and hard-body radius (m). Returns a probability in [0, 1]."""
    b = encounter_frame(rel_vel_m_s)
    m = b @ np.asarray(miss_m, dtype=np.float64)
    c2 = b @ np.asarray(cov_m2, dtype=np.float64) @ b.T
    det = float(np.linalg.det(c2))
    if det <= 0.0:
        return 1.0 if float(np.hypot(*m)) <= hard_body_radius_m else 0.0
    ci = np.linalg.inv(c2)
    big_r = hard_body_radius_m
    rho = 0.5 * big_r * (_GL_X + 1.0)  # Gauss-Legendre nodes on [0, R]
    wr = 0.5 * big_r * _GL_W
    x = rho[:, None] * np.cos(_THETA)[None, :] - m[0]
    y = rho[:, None] * np.sin(_THETA)[None, :] - m[1]
    q = ci[0, 0] * x * x + 2.0 * ci[0, 1] * x * y + ci[1, 1] * y * y
    dens = np.exp(-0.5 * q) / (2.0 * math.pi * math.sqrt(det))
    inner = dens.sum(axis=1) * (2.0 * math.pi / _N_THETA)
    return float(min(1.0, max(0.0, np.sum(wr * rho * inner))))


def linear_closest_approach(
    dr: NDArray[np.float64], dv: NDArray[np.float64], h_s: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Closest approach of ``dr + dv tau`` for tau in [0, h_s]: (distance, tau), any leading shape."""
    vv = np.sum(dv * dv, axis=-1)
    tau = np.where(vv > 0, -np.sum(dr * dv, axis=-1) / np.where(vv > 0, vv, 1.0), 0.0)
    tau = np.clip(tau, 0.0, h_s)
    d = np.linalg.norm(dr + dv * tau[..., None], axis=-1)
    return d, tau


def refine_tca(
    own: NDArray[np.float64],
    obj: NDArray[np.float64],
    tau0_s: float,
    prop: OrbitPropagator,
    iterations: int = 4,
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """TCA offset (s from the sample of ``own``/``obj`` states (6,)) and both states there."""
    tau = tau0_s
    for _ in range(iterations):
        a = prop.advance(own, tau)
        b = prop.advance(obj, tau)
        dr = b[0:3] - a[0:3]
        dv = b[3:6] - a[3:6]
        vv = float(dv @ dv)
        if vv <= 0.0:
            break
        step = -float(dr @ dv) / vv
        tau += step
        if abs(step) < 1e-4:
            break
    a = prop.advance(own, tau)
    b = prop.advance(obj, tau)
    return tau, a, b
