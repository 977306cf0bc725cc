"""Orbit determination: an extended Kalman filter over GNSS fixes with J2 dynamics.

State: ECI position and velocity (m, m/s). Prediction integrates point mass + J2 with the
onboard propagator, plus the estimated drag (a tangential acceleration) and the thrust arcs
the burn executor reports; the covariance follows the linearised point-mass dynamics
(transition matrix by central differences of the J2 dynamics) plus white-noise acceleration process noise
(``sigma_accel_m_s2``, inflated during thrust arcs by ``thrust_uncertainty_frac`` of the
commanded acceleration so that an under-performing thruster is tracked, then detected).

Measurement: the GNSS fix converted from ECEF to ECI (``hal.sensors.ecef_to_eci``), position
and velocity with 1-sigma ``sigma_pos_m`` and ``sigma_vel_m_s``; H = I. A fix whose
normalised innovation squared exceeds ``gate_chi2`` is rejected; after ``max_rejects`` in a
row the filter re-initialises from the fix (a manoeuvre it was not told about).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flight.gnc._kernels import propagate_rk4_batch
from flight.gnc._propagator import OrbitPropagator, ThrustArc

__all__ = ["OdConfig", "OrbitFilter"]

_DELTA = np.array([1.0, 1.0, 1.0, 1e-3, 1e-3, 1e-3])  # finite-difference steps (m, m/s)


@dataclass(frozen=True, slots=True)
class OdConfig:
    """Filter tuning (units in the names)."""

    sigma_pos_m: float = 3.0
    sigma_vel_m_s: float = 0.03
    sigma_accel_m_s2: float = 1e-6
    thrust_uncertainty_frac: float = 0.5
    gate_chi2: float = 60.0
    max_rejects: int = 5
    step_s: float = 20.0


class OrbitFilter:
    """EKF on ECI position/velocity. Times are onboard seconds (float)."""

    def __init__(self, cfg: OdConfig | None = None) -> None:
        self.cfg = cfg or OdConfig()
        self.prop = OrbitPropagator(self.cfg.step_s)
        self.x: NDArray[np.float64] = np.zeros(6)
        self.p: NDArray[np.float64] = np.eye(6)
        self.t_s = 0.0
        self.initialised = False
        self.updates = 0
        self.rejects = 0
        self.consecutive_rejects = 0
        self.resets = 0
        self.last_nis = 0.0
        r = np.array([self.cfg.sigma_pos_m**2] * 3 + [self.cfg.sigma_vel_m_s**2] * 3)
        self._r = np.diag(r)

    def reset(self, t_s: float, z: NDArray[np.float64]) -> None:
        """Start (again) from measurement ``z`` (6,) at ``t_s``."""
        self.x = np.array(z, dtype=np.float64, copy=True)
        self.p = self._r * 4.0
        self.t_s = t_s
        self.initialised = True
        self.consecutive_rejects = 0

    def predict(self, t_s: float, drag_m_s2: float = 0.0, arcs: Sequence[ThrustArc] = ()) -> None:
        """Propagate state and covariance to ``t_s``; ``arcs`` in absolute onboard seconds."""
        dt = t_s - self.t_s
        if not self.initialised or dt <= 0.0:
            return
        rel = [
            ThrustArc(a.t0_s - self.t_s, a.t1_s - self.t_s, a.accel_m_s2, a.direction)
            for a in arcs
            if a.t1_s > self.t_s and a.t0_s < t_s
        ]
        # Covariance: transition matrix by central differences of the J2 dynamics, all 12
        # perturbed states in one call of native.propagate_rk4_batch. (A first-order
        # gravity-gradient matrix is not accurate enough: its small errors make the filter
        # diverge within a few orbits.)
        n = max(1, math.ceil(dt / self.cfg.step_s))
        h = dt / n
        batch = np.repeat(self.x[None, :], 12, axis=0)
        for j in range(6):
            batch[2 * j, j] += _DELTA[j]
            batch[2 * j + 1, j] -= _DELTA[j]
        batch = propagate_rk4_batch(batch, h, n, j2=self.prop.j2)
        phi = ((batch[0::2] - batch[1::2]) / (2.0 * _DELTA[:, None])).T
        q_acc = self.cfg.sigma_accel_m_s2**2
        if rel:
            peak = max(abs(a.accel_m_s2) for a in rel)
            burn = sum(min(a.t1_s, dt) - max(a.t0_s, 0.0) for a in rel)
            q_acc += (self.cfg.thrust_uncertainty_frac * peak) ** 2 * min(1.0, burn / dt)
        eye = np.eye(3)
        q = np.empty((6, 6))
        q[:3, :3] = eye * (q_acc * dt**3 / 3.0)
        q[:3, 3:] = q[3:, :3] = eye * (q_acc * dt**2 / 2.0)
        q[3:, 3:] = eye * (q_acc * dt)
        p = phi @ self.p @ phi.T + q
        self.x = self.prop.advance(self.x, dt, drag_m_s2, rel)
        self.p = 0.5 * (p + p.T)
        self.t_s = t_s

    def update(self, t_s: float, z: NDArray[np.float64], drag_m_s2: float = 0.0,
               arcs: Sequence[ThrustArc] = ()) -> bool:  # fmt: skip
        """Predict to ``t_s`` and fuse fix ``z`` (ECI r, v). Returns False if rejected."""
        if not self.initialised:
            self.reset(t_s, z)
            self.updates += 1
            return True
        self.predict(t_s, drag_m_s2, arcs)
        y = z - self.x
        s = self.p + self._r
        s_inv = np.linalg.inv(s)
        nis = float(y @ s_inv @ y)
        self.last_nis = nis
        if nis > self.cfg.gate_chi2:
            self.rejects += 1
            self.consecutive_rejects += 1
            if self.consecutive_rejects >= self.cfg.max_rejects:
                self.resets += 1
                self.reset(t_s, z)
                return True
            return False
        self.consecutive_rejects = 0
        k = self.p @ s_inv
        self.x = self.x + k @ y
        ikh = np.eye(6) - k
        self.p = ikh @ self.p @ ikh.T + k @ self._r @ k.T
        self.updates += 1
        return True

    @property
    def position_sigma_m(self) -> float:
        """RSS 1-sigma position uncertainty (m)."""
        return math.sqrt(max(0.0, float(np.trace(self.p[:3, :3]))))
