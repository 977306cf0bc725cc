"""Attitude control interface (family ``attitude``): pointing modes, slews, reaction wheels.

The device is the spacecraft's attitude control unit as the flight software sees it: it is
told *what* to point at and does the pointing itself (estimation, the control law and the
wheels are inside the unit, as in a commercial ADCS module). Frames and conventions:

- ECI is the inertial frame of :mod:`hal.sensors`; quaternions are scalar-first, unit, and
  rotate body-frame vectors into ECI (``q_body_to_eci``), with ``w >= 0``.
- Body axes: +Z is the payload/nadir face, -Z the zenith face (the solar array side when
  body-mounted), Y is the array hinge axis.

Modes (:class:`AttitudeMode`):

- ``NADIR``: +Z toward the Earth's centre, -Y along the orbit normal (the default);
- ``SUN``: -Z toward the Sun (arrays and the zenith face square to the Sun), Y as close to
  the negative orbit normal as that allows;
- ``INERTIAL``: hold the commanded attitude quaternion ``q_target_eci``;
- ``TARGET_VECTOR``: +Z toward the commanded ECI direction ``target_eci`` (a ground
  target, a neighbour, a star), Y as close to the negative orbit normal as that allows.

The body turns toward the target at most at :attr:`AttitudeControl.max_slew_rate_deg_s`
(an eigen-axis slew). Disturbance torques accumulate momentum in the reaction wheels
(``wheel_momentum_nms``); above :attr:`AttitudeControl.wheel_momentum_limit_nms` the unit
dumps momentum (magnetorquers) until it is back below the lower threshold.

Commands out of range raise :class:`~native.errors.DeviceCommandError` and change nothing;
an unpowered unit raises :class:`~native.errors.DeviceUnavailableError`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device, Quat, Vec3
from native.errors import DeviceCommandError

__all__ = [
    "QUAT_NORM_TOLERANCE",
    "AttitudeControl",
    "AttitudeMode",
    "AttitudeReading",
    "check_target_vector",
    "check_unit_quaternion",
]

#: How far from 1 the norm of a commanded quaternion may be before it is refused (it is then
#: normalised); a larger error means the caller computed something else than a rotation.
QUAT_NORM_TOLERANCE = 1e-3


@enum.unique
class AttitudeMode(enum.StrEnum):
    """Pointing modes; the value is the name used in commands and configuration."""

    NADIR = "nadir"
    SUN = "sun"
    INERTIAL = "inertial"
    TARGET_VECTOR = "target_vector"


@dataclass(frozen=True, slots=True)
class AttitudeReading:
    """Attitude and wheel state of the control unit.

    ``angle_to_target_deg`` is the rotation angle between the current attitude and the
    mode's target attitude now; ``slewing`` is True while it exceeds the unit's pointing
    tolerance. Wheel momentum is the total stored in the wheels, body frame. When the
    estimate is lost (``valid`` False) the floats are NaN.
    """

    t_ns: int
    valid: bool
    mode: AttitudeMode  #: commanded pointing mode
    q_body_to_eci: Quat  #: estimated attitude, scalar-first unit quaternion body -> ECI
    rate_body_rad_s: Vec3  #: body angular rate, body frame, rad/s
    wheel_momentum_body_nms: Vec3  #: momentum stored in the reaction wheels, body, N m s
    wheel_momentum_nms: float  #: its magnitude, N m s
    slewing: bool  #: True while turning toward the target (outside the pointing tolerance)
    angle_to_target_deg: float  #: rotation angle to the target attitude, deg
    desaturating: bool  #: True while dumping wheel momentum
    desaturations: int  #: momentum dumps started since power-on


@runtime_checkable
class AttitudeControl(Device, Protocol):
    """An attitude control unit with pointing modes and reaction wheels (family
    ``attitude``)."""

    @property
    def max_slew_rate_deg_s(self) -> float:
        """Slew-rate limit (deg/s): the largest body rate used to turn toward a target."""
        ...

    @property
    def pointing_tolerance_deg(self) -> float:
        """Angle to target (deg) below which the unit reports itself on target."""
        ...

    @property
    def wheel_momentum_limit_nms(self) -> float:
        """Wheel momentum (N m s) above which the unit starts a momentum dump."""
        ...

    def set_mode(
        self,
        mode: AttitudeMode | str,
        *,
        q_target_eci: Sequence[float] | None = None,
        target_eci: Sequence[float] | None = None,
    ) -> None:
        """Command a pointing mode.

        ``q_target_eci`` (4 floats, unit quaternion body -> ECI) is required for INERTIAL and
        refused otherwise; ``target_eci`` (3 floats, a non-zero ECI direction) is required for
        TARGET_VECTOR and refused otherwise. Unknown mode, missing, extra or bad values ->
        DeviceCommandError, with the commanded mode unchanged.
        """
        ...

    def read(self) -> AttitudeReading:
        """Attitude, rate, wheel momentum and slew state."""
        ...


def check_unit_quaternion(q: Sequence[float], what: str) -> Quat:
    """``q`` as a normalised scalar-first quaternion with ``w >= 0``.

    DeviceCommandError unless ``q`` is 4 finite reals of norm 1 (within
    :data:`QUAT_NORM_TOLERANCE`).
    """
    vals = _floats(q, 4, what)
    n = math.sqrt(sum(x * x for x in vals))
    if abs(n - 1.0) > QUAT_NORM_TOLERANCE:
        raise DeviceCommandError(f"{what} must be a unit quaternion, norm is {n!r}")
    w, x, y, z = (v / n for v in vals)
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    return (w, x, y, z)


def check_target_vector(v: Sequence[float], what: str) -> Vec3:
    """``v`` as a unit 3-vector; DeviceCommandError unless 3 finite reals, not all zero."""
    x, y, z = _floats(v, 3, what)
    n = math.sqrt(x * x + y * y + z * z)
    if n < 1e-12:
        raise DeviceCommandError(f"{what} must not be the zero vector")
    return (x / n, y / n, z / n)


def _floats(v: Sequence[float], n: int, what: str) -> list[float]:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) != n:
        raise DeviceCommandError(f"{what} must be {n} numbers, got {v!r}")
    out: list[float] = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise DeviceCommandError(f"{what} must be {n} finite numbers, got {v!r}")
        out.append(float(x))
    return out
