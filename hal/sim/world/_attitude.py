"""``world.attitude``: kinematic attitude that follows the commanded pointing mode.

Modes (targets computed from the orbit state and the Sun, see
:func:`hal.sim.world._kernel.attitude_axes`): ``nadir`` (+Z to nadir, -Y along the orbit
normal), ``sun`` (-Z to the Sun), ``min_drag`` (+Y along the air-relative velocity so the
arrays hinged about +Y are edge-on). The body turns toward the target at most at
``max_slew_rate_deg_s``; ``rate_body_rad_s`` is the rotation over the last physics step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.errors import DeviceCommandError

__all__ = ["AttitudeView"]


class AttitudeView:
    """Attitude of the own spacecraft and its pointing-mode command."""

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    @property
    def q_body_to_eci(self) -> NDArray[np.float64]:
        """Scalar-first unit quaternion rotating body-frame vectors into ECI, shape (4,)."""
        return self._c.x[L.X_Q : L.X_Q + 4].copy()

    @property
    def rate_body_rad_s(self) -> NDArray[np.float64]:
        """Angular velocity in the body frame (rad/s), shape (3,)."""
        return self._c.x[L.X_RATE : L.X_RATE + 3].copy()

    @property
    def mode(self) -> str:
        """The commanded pointing mode."""
        return self._c.mode_name

    @property
    def modes(self) -> tuple[str, ...]:
        """Valid mode names."""
        return tuple(L.MODES)

    def set_mode(self, name: str) -> None:
        """Command a pointing mode (``nadir``, ``sun`` or ``min_drag``)."""
        if name not in L.MODES:
            raise DeviceCommandError(
                f"unknown attitude mode {name!r} (one of {', '.join(L.MODES)})"
            )
        self._c.mode_name = name
        self._c.p[L.P_MODE] = L.MODES[name]
        self._c.dirty = True

    def body_to_eci(self, v_body: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rotate body-frame vector(s) (..., 3) into ECI."""
        return np.asarray(v_body, dtype=np.float64) @ self.matrix_body_to_eci().T

    def eci_to_body(self, v_eci: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rotate ECI vector(s) (..., 3) into the body frame."""
        return np.asarray(v_eci, dtype=np.float64) @ self.matrix_body_to_eci()

    def matrix_body_to_eci(self) -> NDArray[np.float64]:
        """3x3 rotation matrix R with v_eci = R v_body (columns are the body axes in ECI)."""
        w, x, y, z = self._c.x[L.X_Q : L.X_Q + 4]
        return np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )
