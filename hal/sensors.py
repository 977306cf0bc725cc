"""Sensor interfaces: GNSS receiver, gyro (IMU), star tracker, sun sensor, temperature channels.

Every sensor has ``read()`` returning a frozen, timestamped reading with a validity flag (see
:mod:`hal._common` for the shared conventions). Reading a powered-off or missing sensor raises
:class:`~native.errors.DeviceUnavailableError`; a reading that the sensor produced but that is
not usable (no fix, dropout, outside the field of view) has ``valid=False`` and NaN values.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device, Quat, Vec3
from hal._frames import EARTH_ROTATION_RAD_S, ecef_to_eci, eci_to_ecef, gmst_rad

__all__ = [
    "EARTH_ROTATION_RAD_S",
    "GnssFix",
    "GnssReading",
    "GnssReceiver",
    "Imu",
    "ImuReading",
    "StarTracker",
    "StarTrackerReading",
    "SunSensor",
    "SunSensorReading",
    "TemperatureChannel",
    "TemperatureReading",
    "TemperatureSensors",
    "ecef_to_eci",
    "eci_to_ecef",
    "gmst_rad",
]

_NAN3: Vec3 = (math.nan, math.nan, math.nan)


# --------------------------------------------------------------------------------------- GNSS
@enum.unique
class GnssFix(enum.IntEnum):
    """Navigation solution type of a GNSS receiver."""

    NONE = 0  #: no solution; position/velocity are NaN
    TIME_ONLY = 1  #: clock solution only (utc_ns usable), no position
    FIX_3D = 3  #: full position, velocity and time solution


@dataclass(frozen=True, slots=True)
class GnssReading:
    """One GNSS navigation solution.

    Position and velocity are in **ECEF** (WGS-84 axes), as receivers report them; convert
    with :func:`ecef_to_eci` (the HAL's Earth-rotation model, :mod:`hal._frames`).
    ``valid`` is True iff ``fix == GnssFix.FIX_3D``.
    """

    t_ns: int  #: backend time of the solution, ns
    valid: bool
    fix: GnssFix
    utc_ns: int  #: receiver UTC time solution, ns since 1970-01-01T00:00:00Z (0 if unknown)
    position_ecef_m: Vec3  #: m, ECEF; NaN without a 3-D fix
    velocity_ecef_m_s: Vec3  #: m/s, ECEF (Earth-relative); NaN without a 3-D fix
    sats_used: int  #: satellites used in the solution (0 without a fix)


@runtime_checkable
class GnssReceiver(Device, Protocol):
    """A GNSS receiver (family ``gnss``)."""

    def read(self) -> GnssReading:
        """Latest navigation solution. Raises DeviceUnavailableError when unpowered."""
        ...


# ---------------------------------------------------------------------------------------- IMU
@dataclass(frozen=True, slots=True)
class ImuReading:
    """Angular rate of the body relative to inertial space, measured in the body frame."""

    t_ns: int
    valid: bool
    rate_rad_s: Vec3  #: rad/s, body frame (includes sensor bias and noise)


@runtime_checkable
class Imu(Device, Protocol):
    """A rate gyro / IMU (family ``imu``)."""

    @property
    def range_rad_s(self) -> float:
        """Full-scale range per axis (rad/s); readings saturate at +-range."""
        ...

    def read(self) -> ImuReading:
        """Latest rate sample. Raises DeviceUnavailableError when unpowered."""
        ...


# ------------------------------------------------------------------------------- star tracker
@dataclass(frozen=True, slots=True)
class StarTrackerReading:
    """Attitude solution: the rotation from body to ECI as a scalar-first unit quaternion.

    ``q_body_to_eci`` rotates body-frame vectors into ECI (v_eci = q v_body q*). Invalid (NaN)
    when the tracker is blinded by the Sun or Earth, rotating too fast, or has dropped out.
    """

    t_ns: int
    valid: bool
    q_body_to_eci: Quat  #: scalar-first (w, x, y, z), unit norm when valid


@runtime_checkable
class StarTracker(Device, Protocol):
    """A star tracker (family ``star_tracker``)."""

    def read(self) -> StarTrackerReading:
        """Latest attitude solution. Raises DeviceUnavailableError when unpowered."""
        ...


# --------------------------------------------------------------------------------- sun sensor
@dataclass(frozen=True, slots=True)
class SunSensorReading:
    """Direction of the Sun in the body frame (unit vector).

    Invalid (NaN) in eclipse or when the Sun is outside the sensor's field of view.
    """

    t_ns: int
    valid: bool
    sun_body_unit: Vec3  #: unit vector, body frame


@runtime_checkable
class SunSensor(Device, Protocol):
    """A sun sensor (family ``sun_sensor``)."""

    def read(self) -> SunSensorReading:
        """Latest Sun direction. Raises DeviceUnavailableError when unpowered."""
        ...


# ------------------------------------------------------------------------------- temperatures
@dataclass(frozen=True, slots=True)
class TemperatureChannel:
    """One named temperature channel (thermistor or RTD)."""

    name: str
    temp_c: float  #: deg C; NaN when invalid
    valid: bool


@dataclass(frozen=True, slots=True)
class TemperatureReading:
    """A scan of all channels of a temperature acquisition unit.

    ``valid`` is True when every channel is valid; check channels individually otherwise.
    """

    t_ns: int
    valid: bool
    channels: tuple[TemperatureChannel, ...]

    def channel(self, name: str) -> TemperatureChannel:
        """The channel called ``name`` (KeyError if there is none)."""
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(name)

    def temp_c(self, name: str) -> float:
        """Temperature (deg C) of channel ``name``; NaN if that channel is invalid."""
        return self.channel(name).temp_c


@runtime_checkable
class TemperatureSensors(Device, Protocol):
    """A set of named temperature channels (family ``temperature``)."""

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the channels, in scan order."""
        ...

    def read(self) -> TemperatureReading:
        """Scan every channel. Raises DeviceUnavailableError when unpowered."""
        ...
