"""Eclipse prediction from the onboard orbit estimate.

Given the spacecraft's ECI state at a UTC time, the orbit is propagated over the coming
revolution with native's analytic J2 mean-element propagator, and the Sun's direction from
the low-precision solar ephemeris; the shadow function (cylindrical umbra) marks each sample.
Entry and exit times are refined by linear interpolation between samples. This is a planning
estimate (osculating elements are used as mean elements; the timing error is a few seconds,
far below what the power budget needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from native import (
    days_since_j2000,
    propagate_j2_batch,
    shadow_fraction,
    state_to_elements,
    sun_position,
)
from native.constants import MU_EARTH_M3_S2

__all__ = ["EclipseWindow", "predict_eclipse"]


@dataclass(frozen=True, slots=True)
class EclipseWindow:
    """Predicted shadow timing, seconds from the prediction time."""

    in_eclipse: bool
    next_entry_s: float  #: inf when no entry within the horizon
    next_exit_s: float  #: inf when no exit within the horizon
    duration_s: float  #: length of the next (or current) eclipse; 0 if none
    period_s: float  #: Keplerian orbital period
    sunlit_fraction: float  #: fraction of the horizon in sunlight


def predict_eclipse(
    r_eci_m: np.ndarray, v_eci_m_s: np.ndarray, utc_ns: int, step_s: float = 20.0
) -> EclipseWindow:
    """Eclipse timing over the next 1.6 revolutions from the state (m, m/s, ECI) at ``utc_ns``."""
    state = np.concatenate([r_eci_m, v_eci_m_s]).reshape(1, 6).astype(np.float64)
    elements = state_to_elements(state)
    a = float(elements[0, 0])
    period = 2.0 * math.pi * math.sqrt(a**3 / MU_EARTH_M3_S2)
    times = np.arange(0.0, 1.6 * period, step_s)
    pos = propagate_j2_batch(elements, times, positions_only=True)[0]
    sun = sun_position(days_since_j2000(utc_ns) + times / 86_400.0)
    lit = shadow_fraction(pos, sun, "cylindrical")
    shadow = lit < 0.5
    in_eclipse = bool(shadow[0])
    edges = np.flatnonzero(np.diff(shadow.astype(np.int8)))
    entries = [float(times[i] + step_s / 2) for i in edges if not shadow[i]]
    exits = [float(times[i] + step_s / 2) for i in edges if shadow[i]]
    next_entry = entries[0] if entries else math.inf
    next_exit = exits[0] if exits else math.inf
    if in_eclipse:
        duration = next_exit if math.isfinite(next_exit) else float(times[-1])
    elif math.isfinite(next_entry):
        later_exits = [x for x in exits if x > next_entry]
        duration = (later_exits[0] - next_entry) if later_exits else float(times[-1]) - next_entry
    else:
        duration = 0.0
    return EclipseWindow(
        in_eclipse, next_entry, next_exit, duration, period, float(1.0 - shadow.mean())
    )
