"""Temperature prediction from a first-order thermal model of each zone.

A lumped node with heat capacity C and conductance G to its sink relaxes exponentially with
time constant tau = C / G toward a steady state ``T_ss``. From the measured rate ``dT/dt`` the
steady state implied by the present heat balance is ``T_ss = T + tau dT/dt``, and the
temperature ``h`` seconds ahead is::

    T(h) = T_ss + (T - T_ss) exp(-h / tau) = T + tau dT/dt (1 - exp(-h / tau))

The rate is smoothed by an exponential moving average so sensor noise does not trigger action.
"""

from __future__ import annotations

import math

__all__ = ["ZonePredictor"]


class ZonePredictor:
    """Predicts a zone's temperature ``horizon_s`` ahead (deg C)."""

    def __init__(self, tau_s: float, horizon_s: float, smoothing: float = 0.1) -> None:
        if tau_s <= 0 or horizon_s < 0 or not 0 < smoothing <= 1:
            raise ValueError("tau_s > 0, horizon_s >= 0, 0 < smoothing <= 1")
        self.tau_s = tau_s
        self.horizon_s = horizon_s
        self.smoothing = smoothing
        self.rate_c_s = 0.0
        self._last: tuple[float, float] | None = None  # (t_s, temp_c)

    def update(self, t_s: float, temp_c: float) -> float:
        """Add a measurement; return the predicted temperature at ``t_s + horizon_s``."""
        if self._last is not None and t_s > self._last[0]:
            rate = (temp_c - self._last[1]) / (t_s - self._last[0])
            self.rate_c_s += self.smoothing * (rate - self.rate_c_s)
        self._last = (t_s, temp_c)
        return temp_c + self.tau_s * self.rate_c_s * (1.0 - math.exp(-self.horizon_s / self.tau_s))
