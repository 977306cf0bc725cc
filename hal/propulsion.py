"""Propulsion interface: an electric (Hall-effect or gridded ion) thruster.

The thrust direction is commanded as a unit vector in **ECI**; the device (or, on the real
spacecraft, the attitude control system that slews the thruster axis) is responsible for
pointing it. A burn runs for the commanded duration and then stops by itself.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device

__all__ = ["Thruster", "ThrusterReading", "ThrusterStatus"]


@enum.unique
class ThrusterStatus(enum.IntEnum):
    """State of the thruster and its power processing unit."""

    READY = 0  #: idle, able to fire
    FIRING = 1
    FAULT = 2  #: failed; fire() raises DeviceFaultError
    DEPLETED = 3  #: no propellant left


@dataclass(frozen=True, slots=True)
class ThrusterReading:
    """Thruster telemetry."""

    t_ns: int
    valid: bool
    status: ThrusterStatus
    thrust_n: float  #: thrust being produced now, N (0 when not firing)
    isp_s: float  #: specific impulse, s
    propellant_kg: float  #: propellant remaining, kg
    burn_remaining_s: float  #: time left in the current burn, s (0 when not firing)


@runtime_checkable
class Thruster(Device, Protocol):
    """An electric thruster (family ``thruster``)."""

    @property
    def max_burn_s(self) -> float:
        """Longest single burn accepted (s)."""
        ...

    def fire(self, direction_eci: Sequence[float], duration_s: float) -> None:
        """Fire along ``direction_eci`` (3 components, normalised by the device; must be
        non-zero and finite) for ``duration_s`` in (0, max_burn_s].

        Raises DeviceCommandError for a bad direction or duration or while already firing,
        DeviceFaultError when the thruster is failed or out of propellant.
        """
        ...

    def read(self) -> ThrusterReading:
        """Thruster telemetry."""
        ...
