"""Thermal hardware interfaces: heaters and the variable-emissivity radiator.

Commands outside their range raise :class:`~native.errors.DeviceCommandError` and leave the
device unchanged; commanding an unpowered device raises
:class:`~native.errors.DeviceUnavailableError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device

__all__ = ["Heater", "HeaterReading", "Radiator", "RadiatorReading"]


@dataclass(frozen=True, slots=True)
class HeaterReading:
    """Heater state: the commanded switch and duty, and the measured electrical power.

    ``power_w`` comes from the heater's current sense, so a heater stuck on shows power while
    commanded off (and a heater stuck off shows none while commanded on).
    """

    t_ns: int
    valid: bool
    on: bool  #: commanded switch state
    duty_frac: float  #: commanded duty cycle, 0..1 (average power = rated_w * duty when on)
    power_w: float  #: measured average electrical (= thermal) power, W


@runtime_checkable
class Heater(Device, Protocol):
    """A resistive heater with a switch and a PWM duty cycle (family ``heater``)."""

    @property
    def rated_w(self) -> float:
        """Power at 100 % duty (W)."""
        ...

    def set_on(self, on: bool) -> None:
        """Switch the heater on or off (keeps the duty setting)."""
        ...

    def set_duty(self, duty_frac: float) -> None:
        """Set the PWM duty cycle, 0..1. Out of range -> DeviceCommandError."""
        ...

    def read(self) -> HeaterReading:
        """Heater state and measured power."""
        ...


@dataclass(frozen=True, slots=True)
class RadiatorReading:
    """Radiator state: effective emissivity setting and panel temperature."""

    t_ns: int
    valid: bool
    emissivity: float  #: current effective infrared emissivity (dimensionless)
    temp_c: float  #: radiator panel temperature, deg C


@runtime_checkable
class Radiator(Device, Protocol):
    """A radiator with variable emissivity (electrochromic film or louvers; family
    ``radiator``). A louver fraction f maps to ``eps_min + f (eps_max - eps_min)``."""

    @property
    def emissivity_range(self) -> tuple[float, float]:
        """(eps_min, eps_max): the settable emissivity range."""
        ...

    def set_emissivity(self, emissivity: float) -> None:
        """Set the effective emissivity. Outside ``emissivity_range`` -> DeviceCommandError."""
        ...

    def read(self) -> RadiatorReading:
        """Emissivity setting and panel temperature."""
        ...
