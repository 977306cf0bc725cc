"""The onboard orbit propagator: point mass + J2 RK4 on the native kernels.

Used by the orbit-determination filter (prediction between GNSS fixes), the burn planner and
conjunction screening. Forces: Earth point mass and J2 (exactly the native kernel's model), a
signed tangential acceleration along the velocity (the estimated drag, negative) and thrust
arcs of constant acceleration along fixed ECI directions (what the thruster HAL delivers),
plus optional impulsive delta-v for planning. Units: m, m/s, s.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flight.gnc._kernels import (
    J2,
    MU_EARTH_M3_S2,
    elements_to_state,
    rk4_accel_step,
)
from flight.gnc._mean import mean_semi_major_axis_m, osculating_elements

__all__ = ["OrbitPropagator", "ThrustArc", "calibrate_reference_rate", "fit_secular"]


@dataclass(frozen=True, slots=True)
class ThrustArc:
    """Constant acceleration ``accel_m_s2`` along unit ECI ``direction`` over [t0_s, t1_s)."""

    t0_s: float
    t1_s: float
    accel_m_s2: float
    direction: tuple[float, float, float]


class OrbitPropagator:
    """RK4 propagation with J2 (``j2=False`` for two-body) in steps of at most ``step_s``."""

    def __init__(self, step_s: float = 20.0, j2: bool = True) -> None:
        if not 0.0 < step_s <= 120.0:
            raise ValueError(f"step_s must be in (0, 120], got {step_s}")
        self.step_s = float(step_s)
        self.j2 = J2 if j2 else 0.0

    def _step(
        self, s: NDArray[np.float64], h: float, tangential: float, arc: ThrustArc | None
    ) -> None:
        ax = ay = az = 0.0
        if tangential != 0.0:
            vn = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
            ax, ay, az = tangential * s[3] / vn, tangential * s[4] / vn, tangential * s[5] / vn
        if arc is not None:
            d = arc.direction
            ax += arc.accel_m_s2 * d[0]
            ay += arc.accel_m_s2 * d[1]
            az += arc.accel_m_s2 * d[2]
        rk4_accel_step(s, h, (ax, ay, az), self.j2)

    def advance(
        self,
        state: ArrayLike,
        dt_s: float,
        tangential_m_s2: float = 0.0,
        arcs: Sequence[ThrustArc] = (),
    ) -> NDArray[np.float64]:
        """State after ``dt_s`` seconds (may be negative: backwards, without arcs).

        ``arcs`` times are relative to the initial state's epoch; steps split at arc edges.
        """
        s = np.array(state, dtype=np.float64, copy=True).reshape(6)
        if dt_s == 0.0:
            return s
        if dt_s < 0.0:
            n = max(1, math.ceil(-dt_s / self.step_s))
            h = dt_s / n
            for _ in range(n):
                self._step(s, h, tangential_m_s2, None)
            return s
        edges = {0.0, float(dt_s)}
        for arc in arcs:
            for t in (arc.t0_s, arc.t1_s):
                if 0.0 < t < dt_s:
                    edges.add(float(t))
        times = sorted(edges)
        for ta, tb in itertools.pairwise(times):
            mid = 0.5 * (ta + tb)
            arc_now = next((a for a in arcs if a.t0_s <= mid < a.t1_s), None)
            span = tb - ta
            n = max(1, math.ceil(span / self.step_s))
            h = span / n
            for _ in range(n):
                self._step(s, h, tangential_m_s2, arc_now)
        return s

    def trajectory(
        self,
        state: ArrayLike,
        times_s: ArrayLike,
        tangential_m_s2: float = 0.0,
        impulses: Sequence[tuple[float, ArrayLike]] = (),
    ) -> NDArray[np.float64]:
        """States (M, 6) at increasing ``times_s`` (>= 0, relative to the state's epoch).

        ``impulses``: (t_s, delta_v_eci (3,)) applied instantaneously at t_s.
        """
        ts = np.asarray(times_s, dtype=np.float64)
        if ts.ndim != 1 or (ts.size > 1 and np.any(np.diff(ts) < 0)) or (ts.size and ts[0] < 0):
            raise ValueError("times_s must be a non-negative, non-decreasing 1-D array")
        out = np.empty((ts.size, 6))
        s = np.array(state, dtype=np.float64, copy=True).reshape(6)
        t = 0.0
        pending = sorted(
            ((float(ti), np.asarray(dv, dtype=np.float64)) for ti, dv in impulses),
            key=lambda p: p[0],
        )
        k = 0
        for j, target in enumerate(ts):
            while k < len(pending) and pending[k][0] <= target:
                ti, dv = pending[k]
                s = self.advance(s, ti - t, tangential_m_s2)
                s[3:6] += dv
                t = ti
                k += 1
            s = self.advance(s, float(target) - t, tangential_m_s2)
            t = float(target)
            out[j] = s
        return out


def fit_secular(
    t_s: NDArray[np.float64],
    y: NDArray[np.float64],
    u_rad: NDArray[np.float64],
    t_eval_s: float,
    harmonics: int = 2,
) -> tuple[float, float]:
    """Least-squares ``y = c0 + c1 (t - t_eval) + sum_k (a_k cos k u + b_k sin k u)``.

    Returns (c0, c1): the secular value at ``t_eval_s`` and its rate (units of y per s), the
    orbit-periodic terms (k = 1..harmonics) removed. Needs more samples than unknowns.
    """
    tau = t_s - t_eval_s
    cols = [np.ones_like(tau), tau]
    for k in range(1, harmonics + 1):
        cols.append(np.cos(k * u_rad))
        cols.append(np.sin(k * u_rad))
    a = np.stack(cols, axis=1)
    if a.shape[0] <= a.shape[1]:
        raise ValueError("not enough samples for the secular fit")
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(coef[0]), float(coef[1])


def calibrate_reference_rate(
    a_target_m: float,
    inc_rad: float,
    propagator: OrbitPropagator | None = None,
    orbits: float = 2.0,
    sample_s: float = 60.0,
) -> float:
    """Mean-longitude rate (rad/s) of a J2 orbit whose Brouwer mean a equals ``a_target_m``.

    First-order theory and the mean-a definition disagree by O(J2) in the along-track rate
    (hundreds of metres of equivalent a at 550 km), so the slot reference is calibrated with
    the onboard propagator itself: a near-circular J2 orbit is built with the target mean a,
    propagated ``orbits`` revolutions, and the secular rate of ``M + argp`` fitted; the small
    residual offset of its mean a is removed with ``d(rate)/da = -(3/2) n / a``.
    """
    prop = propagator or OrbitPropagator()
    a0 = a_target_m
    el = np.array([[a0, 0.0, inc_rad, 0.0, 0.0, 0.0]])
    for _ in range(3):
        el[0, 0] = a0
        a0 += a_target_m - float(mean_semi_major_axis_m(elements_to_state(el)[0]))
    el[0, 0] = a0
    st = elements_to_state(el)
    period = 2.0 * math.pi * math.sqrt(a_target_m**3 / MU_EARTH_M3_S2)
    times = np.arange(0.0, orbits * period, sample_s)
    traj = prop.trajectory(st[0], times)
    els = osculating_elements(traj)
    lam = np.unwrap(els[:, 4] + els[:, 5])
    from flight.gnc._mean import arg_latitude_rad

    u = np.asarray(arg_latitude_rad(traj))
    _, rate = fit_secular(times, lam, u, 0.0, harmonics=4)
    a_avg, _ = fit_secular(times, np.asarray(mean_semi_major_axis_m(traj)), u, 0.0, harmonics=4)
    n = math.sqrt(MU_EARTH_M3_S2 / a_target_m**3)
    return rate - 1.5 * n / a_target_m * (a_target_m - a_avg)
