"""Vocabulary shared by every device family: families, the device and reading protocols.

Conventions for every family module:

- Time is an integer count of nanoseconds (``t_ns``) on the backend's clock (simulated time for
  ``sim``; the rig's monotonic clock for ``hil``). Timestamps never go backwards.
- SI units, named in the field (``_m``, ``_m_s``, ``_rad_s``, ``_c``, ``_w``, ``_v``, ``_a``,
  ``_frac``, ``_kg``, ``_s``, ``_dbm``, ``_bps``).
- Readings are frozen, slotted dataclasses with ``t_ns`` and ``valid`` as their first two
  fields. ``valid`` is False when the device produced no usable measurement (no fix, sensor
  dropout, sun outside the field of view...); the numeric fields of an invalid reading are
  NaN unless the family documents otherwise.
- Vectors are tuples of floats (immutable), never numpy arrays, so that a reading can be put on
  the software bus and compared by value.
- Errors: :class:`~native.errors.DeviceUnavailableError` when the device is powered off, missing
  or silent; :class:`~native.errors.DeviceCommandError` when a command is out of range or
  invalid in the device's state (the device state is then unchanged);
  :class:`~native.errors.DeviceFaultError` when the device reports a fault.
"""

from __future__ import annotations

import enum
import math
from typing import Protocol, runtime_checkable

from native.errors import DeviceCommandError

__all__ = [
    "Device",
    "Family",
    "Quat",
    "Reading",
    "Vec3",
    "require_finite",
    "require_range",
]

#: A 3-vector (x, y, z) in the frame named by the field.
Vec3 = tuple[float, float, float]
#: A scalar-first unit quaternion (w, x, y, z).
Quat = tuple[float, float, float, float]


@enum.unique
class Family(enum.StrEnum):
    """Device families; the value is the ``family`` key used in device configuration."""

    GNSS = "gnss"
    IMU = "imu"
    STAR_TRACKER = "star_tracker"
    SUN_SENSOR = "sun_sensor"
    TEMPERATURE = "temperature"
    HEATER = "heater"
    RADIATOR = "radiator"
    SOLAR_ARRAY = "solar_array"
    BATTERY = "battery"
    PDU = "pdu"
    THRUSTER = "thruster"
    LASER_TERMINAL = "laser_terminal"
    ACCELERATOR = "accelerator"
    IMAGER = "imager"
    WATCHDOG = "watchdog"
    STORAGE = "storage"
    ATTITUDE = "attitude"


@runtime_checkable
class Reading(Protocol):
    """What every reading has: a timestamp (ns, backend clock) and a validity flag."""

    @property
    def t_ns(self) -> int:
        """Time of the measurement, ns on the backend clock."""
        ...

    @property
    def valid(self) -> bool:
        """True when the measurement is usable."""
        ...


@runtime_checkable
class Device(Protocol):
    """What every device has: a unique name and its family."""

    @property
    def name(self) -> str:
        """Unique device name within a backend (the key of the device configuration)."""
        ...

    @property
    def family(self) -> Family:
        """The device family (selects the interface the device implements)."""
        ...


def require_finite(value: float, what: str) -> float:
    """Return ``float(value)`` or raise DeviceCommandError if it is not a finite real."""
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise DeviceCommandError(f"{what} must be a real number, got {value!r}") from exc
    if not math.isfinite(x):
        raise DeviceCommandError(f"{what} must be finite, got {x!r}")
    return x


def require_range(value: float, lo: float, hi: float, what: str) -> float:
    """Return ``float(value)`` if finite and in ``[lo, hi]``, else raise DeviceCommandError."""
    x = require_finite(value, what)
    if not lo <= x <= hi:
        raise DeviceCommandError(f"{what} = {x!r} is outside [{lo!r}, {hi!r}]")
    return x
