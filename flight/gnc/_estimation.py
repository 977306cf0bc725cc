"""Estimation: GNSS fixes into the orbit filter, mean elements, secular fits and drag decay.

:class:`OrbitEstimator` owns the EKF (:class:`~flight.gnc.OrbitFilter`) and bounded
histories of what it derives from each accepted fix:

* the Brouwer mean semi-major axis and the unwrapped mean longitude ``lambda = M + argp``
  (a ring of the last 512 samples, about eight hours at one fix a minute);
* burn-free samples for the drag-decay fit, at least 299 s apart (a ring of 2048, one week);
* the thrust arcs of the last day (the filter propagates through them).

From these it gives orbit-averaged estimates (:meth:`OrbitEstimator.estimate`): secular fits
over the last orbit (:func:`~flight.gnc.fit_secular`), and the decay rate ``D = -da/dt`` from a
fit over up to ``decay_window_s`` of burn-free data. Times are onboard seconds; lengths m.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flight.gnc._config import GncConfig
from flight.gnc._mean import arg_latitude_rad, mean_semi_major_axis_m, osculating_elements
from flight.gnc._od import OdConfig, OrbitFilter
from flight.gnc._propagator import OrbitPropagator, ThrustArc, fit_secular
from hal.sensors import GnssReading, ecef_to_eci

__all__ = ["Estimate", "OdResult", "OrbitEstimator"]

_TWO_PI = 2.0 * math.pi
#: Samples of (t, mean a, unwrapped lambda, u, inclination) kept for the orbit-averaged fits.
SAMPLE_RING = 512
#: Burn-free (t, mean a, u) samples kept for the decay fit (>= 299 s apart: one week).
DECAY_RING = 2048
#: Thrust arcs kept for the filter (also pruned to the last day).
ARC_RING = 256
#: Fits need more samples than unknowns (2 secular + 4 harmonic terms) with some to spare.
MIN_FIT_SAMPLES = 8


def _wrap(angle: float) -> float:
    return (angle + math.pi) % _TWO_PI - math.pi


@dataclass(frozen=True, slots=True)
class Estimate:
    """Orbit-averaged estimate at ``t_s`` (onboard s).

    ``a_m``: secular mean semi-major axis (m); ``a_full``: whether that fit spans a full
    orbit of burn-free data; ``lam_rad``: secular unwrapped mean longitude ``M + argp``;
    ``inc_rad``: mean inclination over the window.
    """

    t_s: float
    a_m: float
    a_full: bool
    lam_rad: float
    inc_rad: float


@dataclass(frozen=True, slots=True)
class OdResult:
    """What one GNSS fix did: accepted by the filter, re-initialised it, converged it now."""

    accepted: bool
    reset: bool
    converged_now: bool


class OrbitEstimator:
    """The EKF and the bounded sample histories derived from it (see the module docstring)."""

    def __init__(self, cfg: GncConfig) -> None:
        self.cfg = cfg
        self.filter = OrbitFilter(
            OdConfig(cfg.gnss_sigma_pos_m, cfg.gnss_sigma_vel_m_s, cfg.od_sigma_accel_m_s2)
        )
        self._samples: deque[tuple[float, float, float, float, float]] = deque(maxlen=SAMPLE_RING)
        self._decay_samples: deque[tuple[float, float, float]] = deque(maxlen=DECAY_RING)
        self.arcs: deque[ThrustArc] = deque(maxlen=ARC_RING)
        self._lam_prev: float | None = None
        self._lam_unw = 0.0
        self._resets_seen = 0
        #: onboard-to-UTC offset (ns) from the last valid fix; None before the first one
        self.utc_offset_ns: int | None = None
        #: estimated decay of the mean semi-major axis (m/s, >= 0); None until estimated
        self.decay_m_s: float | None = (
            cfg.decay_prior_m_per_day / 86400.0 if cfg.decay_prior_m_per_day > 0 else None
        )
        self.converged = False
        self.first_converged_t_s: float | None = None
        self.last_estimate: Estimate | None = None

    # -- filter -------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True once the filter has fused ``od_min_updates`` fixes (directions are usable)."""
        return self.filter.updates >= self.cfg.od_min_updates

    def drag_accel_m_s2(self, mean_motion_rad_s: float) -> float:
        """Tangential drag acceleration for propagation (m/s^2, <= 0): ``a_T = -n D / 2``."""
        return -0.5 * mean_motion_rad_s * self.decay_m_s if self.decay_m_s else 0.0

    def add_arc(self, arc: ThrustArc) -> None:
        """Record a thrust arc (absolute onboard seconds) for the filter's propagation."""
        self.arcs.append(arc)

    def arcs_relative(self, t0_s: float) -> list[ThrustArc]:
        """The recorded arcs with times relative to ``t0_s``."""
        return [
            ThrustArc(a.t0_s - t0_s, a.t1_s - t0_s, a.accel_m_s2, a.direction) for a in self.arcs
        ]

    def predict_state(
        self, t_s: float, drag_m_s2: float, prop: OrbitPropagator
    ) -> NDArray[np.float64]:
        """The filter state propagated to ``t_s`` through drag and the recorded arcs."""
        f = self.filter
        return prop.advance(f.x, t_s - f.t_s, drag_m_s2, self.arcs_relative(f.t_s))

    def ingest(
        self, t_s: float, t_ns: int, fix: GnssReading, drag_m_s2: float, clean_after_s: float
    ) -> OdResult:
        """Fuse a valid GNSS fix read at onboard ``t_s`` (``t_ns``); samples taken at or
        after ``clean_after_s`` (a burn's end plus the settling time) feed the decay fit.

        The fix is fused at its *own* time (``fix.t_ns``, when the receiver's solution was
        valid), not at the step that read it: in real time, or on a rig, the solution can be
        up to a plant period older than the step, and tagging it with the step time would put
        a 7.5 km/s position error into the innovation test (issue 19). A fix stamped in the
        future of the step (a backend clock ahead of onboard time) is taken at the step time.
        """
        fix_ns = min(int(fix.t_ns), t_ns)
        t_s = t_s - (t_ns - fix_ns) / 1e9
        t_ns = fix_ns
        self.utc_offset_ns = fix.utc_ns - t_ns
        r, v = ecef_to_eci(fix.position_ecef_m, fix.velocity_ecef_m_s, fix.utc_ns)
        f = self.filter
        while self.arcs and self.arcs[0].t1_s <= t_s - 86400.0:
            self.arcs.popleft()
        ok = f.update(t_s, np.concatenate([r, v]), drag_m_s2, list(self.arcs))
        reset = f.resets > self._resets_seen
        self._resets_seen = f.resets
        if not ok or not self.ready:
            return OdResult(ok, reset, False)
        converged_now = not self.converged
        if converged_now:
            self.converged = True
            self.first_converged_t_s = t_s
        x = f.x
        el = osculating_elements(x)
        a_mean = float(mean_semi_major_axis_m(x))
        u = float(arg_latitude_rad(x))
        lam = float(el[4] + el[5])
        if self._lam_prev is None:
            self._lam_unw = lam
        else:
            self._lam_unw += _wrap(lam - self._lam_prev)
        self._lam_prev = lam
        self._samples.append((t_s, a_mean, self._lam_unw, u, float(el[2])))
        if t_s >= clean_after_s and (
            not self._decay_samples or t_s - self._decay_samples[-1][0] >= 299.0
        ):
            self._decay_samples.append((t_s, a_mean, u))
        return OdResult(True, reset, converged_now)

    # -- orbit-averaged fits ------------------------------------------------------------------
    def fit_a(
        self, t_lo: float, t_hi: float, t_eval: float, period_s: float
    ) -> tuple[float, bool] | None:
        """Secular mean a (m) over ``[t_lo, t_hi]`` evaluated at ``t_eval``, and whether the
        window spans (90 % of) a full orbit; None with too few samples or under 0.3 orbit."""
        rows = [s for s in self._samples if t_lo <= s[0] <= t_hi]
        if len(rows) < MIN_FIT_SAMPLES:
            return None
        w = np.array(rows)
        span = w[-1, 0] - w[0, 0]
        if span < 0.3 * period_s:
            return None
        full = bool(span >= 0.9 * period_s)
        a, _ = fit_secular(w[:, 0], w[:, 1], w[:, 3], t_eval, harmonics=2 if full else 0)
        return a, full

    def estimate(self, t_s: float, period_s: float, clean_after_s: float) -> Estimate | None:
        """Orbit-averaged mean a and mean longitude at ``t_s`` (None before one orbit of OD)."""
        rows = [s for s in self._samples if s[0] >= t_s - period_s]
        if len(rows) < MIN_FIT_SAMPLES:
            return None
        w = np.array(rows)
        if (w[-1, 0] - w[0, 0]) < 0.9 * period_s:
            return None
        lam, _ = fit_secular(w[:, 0], w[:, 2], w[:, 3], t_s, harmonics=2)
        fa = self.fit_a(max(t_s - period_s, clean_after_s), t_s, t_s, period_s)
        if fa is None:
            a, _ = fit_secular(w[:, 0], w[:, 1], w[:, 3], t_s, harmonics=2)
            a_full = False
        else:
            a, a_full = fa
        est = Estimate(t_s, a, a_full, lam, float(np.mean(w[:, 4])))
        self.last_estimate = est
        return est

    def update_decay(self, t_s: float, period_s: float, clean_after_s: float) -> bool:
        """Refit the decay rate over the burn-free window; True when it became known now."""
        t_lo = max(t_s - self.cfg.decay_window_s, clean_after_s)
        rows = [s for s in self._decay_samples if s[0] >= t_lo]
        if len(rows) < 12:
            return False
        w = np.array(rows)
        if w[-1, 0] - w[0, 0] < 0.95 * period_s:
            return False
        _, slope = fit_secular(w[:, 0], w[:, 1], w[:, 2], t_s, harmonics=2)
        first = self.decay_m_s is None
        self.decay_m_s = max(0.0, -slope)
        return first
