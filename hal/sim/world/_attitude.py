"""``world.attitude``: kinematic attitude that follows the commanded pointing mode, and the
reaction wheels that store the momentum of the disturbance torques.

Modes (targets computed from the orbit state and the Sun, see
:func:`hal.sim.world._kernel.attitude_axes`): ``nadir`` (+Z to nadir, -Y along the orbit
normal), ``sun`` (-Z to the Sun), ``min_drag`` (+Y along the air-relative velocity so the
arrays hinged about +Y are edge-on), ``inertial`` (hold a commanded quaternion) and
``target_vector`` (+Z along a commanded ECI direction, -Y as close to the orbit normal as
that allows). The body turns toward the target along the shortest rotation (an eigen-axis
slew) at most at ``max_slew_rate_deg_s``, so a slew of angle theta toward a fixed target
takes theta / rate; ``rate_body_rad_s`` is the rotation over the last physics step.

Wheels (per physics step ``h``, body frame; gyroscopic coupling and the rotation of the
body frame within a step are neglected, as befits a kinematic attitude)::

    h_w += (T_dist + T_gg) h - I (omega_after - omega_before)
    T_gg = 3 mu / r^3  n x (I n)        (n: nadir direction in the body frame)

``T_dist`` is the configured constant disturbance (residual magnetic dipole, solar pressure
and drag offsets lumped together). When ``|h_w|`` exceeds ``wheel_momentum_max_nms`` a
momentum dump starts (magnetorquers): ``|h_w|`` falls by ``desat_torque_nm * h`` per step
until it is at most ``wheel_momentum_reset_nms``. In nadir pointing with the principal axes
on the orbit frame the gravity-gradient torque vanishes, so only the bias accumulates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from hal.attitude import check_target_vector, check_unit_quaternion
from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from hal.sim.world._kernel import target_quaternion
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

    def set_mode(
        self,
        name: str,
        *,
        q_target_eci: Sequence[float] | None = None,
        target_eci: Sequence[float] | None = None,
    ) -> None:
        """Command a pointing mode (``nadir``, ``sun``, ``min_drag``, ``inertial`` or
        ``target_vector``).

        ``inertial`` needs ``q_target_eci`` (unit quaternion body -> ECI, scalar first);
        ``target_vector`` needs ``target_eci`` (non-zero ECI direction). A value the mode does
        not take, a missing or malformed one, or an unknown mode -> DeviceCommandError, with
        nothing changed.
        """
        if name not in L.MODES:
            raise DeviceCommandError(
                f"unknown attitude mode {name!r} (one of {', '.join(L.MODES)})"
            )
        if (q_target_eci is not None) != (name == "inertial"):
            raise DeviceCommandError("q_target_eci is required for mode 'inertial' and only for it")
        if (target_eci is not None) != (name == "target_vector"):
            raise DeviceCommandError(
                "target_eci is required for mode 'target_vector' and only for it"
            )
        p = self._c.p
        if q_target_eci is not None:
            p[L.P_Q_TGT : L.P_Q_TGT + 4] = check_unit_quaternion(q_target_eci, "q_target_eci")
        if target_eci is not None:
            p[L.P_V_TGT : L.P_V_TGT + 3] = check_target_vector(target_eci, "target_eci")
        self._c.mode_name = name
        p[L.P_MODE] = L.MODES[name]
        self._c.dirty = True

    @property
    def q_target_eci(self) -> NDArray[np.float64]:
        """The target attitude of the current mode now (body -> ECI, w >= 0), shape (4,)."""
        c = self._c
        sun = c.out()[L.O_SUN : L.O_SUN + 3]
        return np.array(target_quaternion(c.p, c.own, float(sun[0]), float(sun[1]), float(sun[2])))

    @property
    def angle_to_target_rad(self) -> float:
        """Rotation angle from the attitude to the current mode's target now (rad, 0..pi)."""
        return float(self._c.out()[L.O_ANGLE_TGT])

    @property
    def max_slew_rate_rad_s(self) -> float:
        """Slew-rate limit (rad/s)."""
        return float(self._c.p[L.P_SLEW])

    @property
    def wheel_momentum_body_nms(self) -> NDArray[np.float64]:
        """Momentum stored in the reaction wheels, body frame (N m s), shape (3,)."""
        return self._c.x[L.X_HW : L.X_HW + 3].copy()

    @property
    def wheel_momentum_max_nms(self) -> float:
        """Wheel momentum that starts a dump (N m s)."""
        return float(self._c.p[L.P_HW_MAX])

    @property
    def desaturating(self) -> bool:
        """True while a momentum dump runs."""
        return bool(self._c.x[L.X_DESAT] != 0.0)

    @property
    def desaturations(self) -> int:
        """Momentum dumps started so far."""
        return int(self._c.acc[L.A_DESATS])

    @property
    def momentum_dumped_nms(self) -> float:
        """Total wheel momentum removed by dumping so far (N m s)."""
        return float(self._c.acc[L.A_DUMPED_NMS])

    def reset_wheels(self) -> None:
        """Spin the wheels down to zero momentum (a unit power cycle), ending any dump."""
        self._c.x[L.X_HW : L.X_HW + 3] = 0.0
        self._c.x[L.X_DESAT] = 0.0

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
