"""Power interfaces: solar array, battery and the power distribution unit (PDU).

Sign convention: battery current is positive while charging. Rails of the PDU are named in
configuration; each has a switch, a current sense and an overcurrent trip that latches the
rail off until :meth:`Pdu.reset_rail`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device

__all__ = [
    "Battery",
    "BatteryReading",
    "CellStatus",
    "Pdu",
    "PduReading",
    "RailStatus",
    "SolarArray",
    "SolarArrayReading",
]


@dataclass(frozen=True, slots=True)
class SolarArrayReading:
    """Solar array output at the array side of the regulator."""

    t_ns: int
    valid: bool
    current_a: float  #: A, >= 0
    voltage_v: float  #: V, >= 0
    power_w: float  #: W (current_a * voltage_v as measured)
    temp_c: float  #: array temperature, deg C
    strings_ok: int  #: working strings
    strings_total: int


@runtime_checkable
class SolarArray(Device, Protocol):
    """Solar array telemetry (family ``solar_array``)."""

    def read(self) -> SolarArrayReading:
        """Latest array telemetry."""
        ...


@enum.unique
class CellStatus(enum.IntEnum):
    """State of one battery cell (or parallel cell group) reported by the BMS."""

    OK = 0
    FAILED = 1  #: open or shorted cell, bypassed by the BMS


@dataclass(frozen=True, slots=True)
class BatteryReading:
    """Battery telemetry from the battery management system."""

    t_ns: int
    valid: bool
    voltage_v: float  #: pack terminal voltage, V
    current_a: float  #: A, positive while charging
    temp_c: float  #: pack temperature, deg C
    cells_ok: int  #: working series cells
    cells_total: int
    cell_status: tuple[CellStatus, ...]  #: one entry per series cell


@runtime_checkable
class Battery(Device, Protocol):
    """Battery pack telemetry (family ``battery``)."""

    def read(self) -> BatteryReading:
        """Latest pack telemetry."""
        ...


@dataclass(frozen=True, slots=True)
class RailStatus:
    """One switchable PDU rail."""

    name: str
    on: bool  #: switch closed (False when commanded off or tripped)
    tripped: bool  #: overcurrent protection latched the rail off
    current_a: float  #: measured rail current, A


@dataclass(frozen=True, slots=True)
class PduReading:
    """Status of every rail of the PDU."""

    t_ns: int
    valid: bool
    rails: tuple[RailStatus, ...]

    def rail(self, name: str) -> RailStatus:
        """The status of rail ``name`` (KeyError if there is none)."""
        for r in self.rails:
            if r.name == name:
                return r
        raise KeyError(name)


@runtime_checkable
class Pdu(Device, Protocol):
    """Power distribution unit with switchable, current-limited rails (family ``pdu``)."""

    @property
    def rail_names(self) -> tuple[str, ...]:
        """Names of the switchable rails."""
        ...

    def set_rail(self, rail: str, on: bool) -> None:
        """Switch rail ``rail`` on or off. Unknown rail -> DeviceCommandError; switching a
        tripped rail on -> DeviceCommandError (reset it first)."""
        ...

    def reset_rail(self, rail: str) -> None:
        """Clear the overcurrent latch of ``rail`` (the rail stays off until switched on)."""
        ...

    def read(self) -> PduReading:
        """Status of every rail."""
        ...
