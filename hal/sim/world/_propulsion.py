"""``world.propulsion``: electric thruster with the rocket equation ``dm = F / (Isp g0) dt``."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.errors import DeviceCommandError

__all__ = ["PropulsionView"]


class PropulsionView:
    """Thruster state and commands. A burn applies a constant thrust along a fixed ECI
    direction during the following advances (split exactly at the burn end and when the
    propellant runs out); the mass falls at ``F / (Isp g0)``."""

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    def fire(self, direction_eci_unit: ArrayLike, duration_s: float) -> None:
        """Start a burn of ``duration_s`` s (replacing any burn in progress; 0 stops).

        ``direction_eci_unit`` is normalised; a zero or non-finite vector is rejected.
        """
        d = np.asarray(direction_eci_unit, dtype=np.float64).reshape(-1)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or float(np.linalg.norm(d)) == 0.0:
            raise DeviceCommandError(
                f"burn direction must be a finite non-zero 3-vector, got {d!r}"
            )
        try:
            dur = float(duration_s)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"burn duration must be a number, got {duration_s!r}") from exc
        if not math.isfinite(dur) or dur < 0.0:
            raise DeviceCommandError(f"burn duration must be finite and >= 0, got {duration_s!r}")
        x = self._c.x
        x[L.X_BURN_DIR : L.X_BURN_DIR + 3] = d / np.linalg.norm(d)
        x[L.X_BURN_LEFT] = dur

    def stop(self) -> None:
        """End the burn in progress."""
        self._c.x[L.X_BURN_LEFT] = 0.0

    @property
    def firing(self) -> bool:
        """True while a burn is producing thrust."""
        c = self._c
        return bool(c.x[L.X_BURN_LEFT] > 0.0 and c.p[L.P_THRUST] > 0.0 and c.x[L.X_PROP] > 0.0)

    @property
    def thrust_n(self) -> float:
        """Thrust being produced now (N): 0 unless firing."""
        return float(self._c.p[L.P_THRUST]) if self.firing else 0.0

    @property
    def rated_thrust_n(self) -> float:
        """Configured thrust (N)."""
        return float(self._c.cfg.propulsion.thrust_n)

    @property
    def isp_s(self) -> float:
        """Specific impulse (s)."""
        return float(self._c.cfg.propulsion.isp_s)

    @property
    def propellant_kg(self) -> float:
        """Remaining propellant (kg)."""
        return float(self._c.x[L.X_PROP])

    @property
    def burn_remaining_s(self) -> float:
        """Commanded burn time still to run (s)."""
        return float(self._c.x[L.X_BURN_LEFT])

    @property
    def direction_eci_unit(self) -> tuple[float, float, float]:
        """Direction of the current/last burn (ECI unit vector)."""
        d = self._c.x[L.X_BURN_DIR : L.X_BURN_DIR + 3]
        return float(d[0]), float(d[1]), float(d[2])

    @property
    def delta_v_total_m_s(self) -> float:
        """Delta-v delivered so far, ``Isp g0 ln(m0 / m1)`` summed over burns (m/s)."""
        return float(self._c.acc[L.A_DV_M_S])

    @property
    def burn_time_total_s(self) -> float:
        """Total time spent thrusting (s)."""
        return float(self._c.acc[L.A_BURN_S])

    @property
    def failed(self) -> bool:
        """True when the thruster has been failed by fault injection."""
        return self._c.thruster_failed

    @property
    def thrust_scale(self) -> float:
        """Thrust (and mass-flow) scale factor set by fault injection."""
        return self._c.thrust_scale

    def set_failed(self, failed: bool) -> None:
        """Fault: a failed thruster produces no thrust (a burn still counts down)."""
        self._c.thruster_failed = bool(failed)
        self._c.refresh_thrust()

    def set_thrust_scale(self, frac: float) -> None:
        """Fault: scale thrust and mass flow by ``frac`` in [0, 1] (Isp unchanged)."""
        try:
            f = float(frac)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"thrust scale must be a number, got {frac!r}") from exc
        if not 0.0 <= f <= 1.0:
            raise DeviceCommandError(f"thrust scale must be in [0, 1], got {frac!r}")
        self._c.thrust_scale = f
        self._c.refresh_thrust()
