"""Simulated power hardware: solar array and battery telemetry, the PDU."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from hal._common import Family
from hal.power import (
    Battery,
    BatteryReading,
    CellStatus,
    Pdu,
    PduReading,
    RailStatus,
    SolarArray,
    SolarArrayReading,
)
from hal.sim._base import SENSOR_FAULTS, Options, SimDevice, SimSensor
from hal.sim._context import DeviceContext
from native.errors import ConfigError, DeviceCommandError

__all__ = ["SimBattery", "SimPdu", "SimSolarArray"]

_NAN = math.nan


class SimSolarArray(SimSensor, SolarArray):
    """Solar array telemetry (channels ``current``, ``voltage``, ``temp``).

    Keys: ``noise_a`` (0.05), ``noise_v`` (0.05), ``noise_c`` (0.5). Fault
    ``solar_string_loss`` (param ``strings``, default 1) fails strings in the world
    (permanent).
    """

    family: ClassVar[Family] = Family.SOLAR_ARRAY
    FAULTS: ClassVar[frozenset[str]] = SENSOR_FAULTS | {"solar_string_loss"}

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("current", "voltage", "temp"))
        self._noise_a = opts.real("noise_a", 0.05, lo=0.0)
        self._noise_v = opts.real("noise_v", 0.05, lo=0.0)
        self._noise_c = opts.real("noise_c", 0.5, lo=0.0)
        opts.finish()

    def read(self) -> SolarArrayReading:
        self._require_power()
        p = self.world.power
        i = self._measure("current", float(p.array_current_a), noise=self._noise_a, lo=0.0)
        v = self._measure("voltage", float(p.array_voltage_v), noise=self._noise_v, lo=0.0)
        tc = self._measure("temp", float(p.array_temp_c), noise=self._noise_c)
        ok = i is not None and v is not None and tc is not None
        fi = _NAN if i is None else float(i)
        fv = _NAN if v is None else float(v)
        return SolarArrayReading(
            self._now(),
            ok,
            fi,
            fv,
            fi * fv,
            _NAN if tc is None else float(tc),
            int(p.array_strings_ok),
            int(p.array_strings_total),
        )

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind == "solar_string_loss":
            self.world.power.fail_array_strings(int(params.get("strings", 1)))
        else:
            super().apply_fault(kind, channel, params)


class SimBattery(SimSensor, Battery):
    """Battery telemetry (channels ``voltage``, ``current``, ``temp``).

    Keys: ``noise_v`` (0.01), ``noise_a`` (0.05), ``noise_c`` (0.2). Fault
    ``battery_cell_loss`` (param ``cells``, default 1) fails series cells in the world
    (permanent; the pack voltage drops by a cell's voltage each).
    """

    family: ClassVar[Family] = Family.BATTERY
    FAULTS: ClassVar[frozenset[str]] = SENSOR_FAULTS | {"battery_cell_loss"}

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("voltage", "current", "temp"))
        self._noise_v = opts.real("noise_v", 0.01, lo=0.0)
        self._noise_a = opts.real("noise_a", 0.05, lo=0.0)
        self._noise_c = opts.real("noise_c", 0.2, lo=0.0)
        opts.finish()

    def read(self) -> BatteryReading:
        self._require_power()
        p = self.world.power
        v = self._measure("voltage", float(p.battery_voltage_v), noise=self._noise_v, lo=0.0)
        i = self._measure("current", float(p.battery_current_a), noise=self._noise_a)
        tc = self._measure("temp", float(p.battery_temp_c), noise=self._noise_c)
        ok_cells, total = int(p.battery_cells_ok), int(p.battery_cells_total)
        status = (CellStatus.OK,) * ok_cells + (CellStatus.FAILED,) * (total - ok_cells)
        return BatteryReading(
            self._now(),
            v is not None and i is not None and tc is not None,
            _NAN if v is None else float(v),
            _NAN if i is None else float(i),
            _NAN if tc is None else float(tc),
            ok_cells,
            total,
            status,
        )

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind == "battery_cell_loss":
            self.world.power.fail_battery_cells(int(params.get("cells", 1)))
        else:
            super().apply_fault(kind, channel, params)


class SimPdu(SimDevice, Pdu):
    """The power distribution unit: switches the world's rails.

    Keys: ``rails`` (list of rail names the PDU controls; default all rails of the world).
    """

    family: ClassVar[Family] = Family.PDU

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts)
        world_rails = tuple(self.world.power.rail_names)
        rails = opts.raw("rails", list(world_rails))
        if not isinstance(rails, (list, tuple)) or not rails:
            raise ConfigError(f"{opts.path}.rails: must be a non-empty array of rail names")
        for r in rails:
            if r not in world_rails:
                raise ConfigError(
                    f"{opts.path}.rails: unknown rail {r!r} (known: {', '.join(world_rails)})"
                )
        self._rails = tuple(rails)
        opts.finish()

    @property
    def rail_names(self) -> tuple[str, ...]:
        return self._rails

    def _check_rail(self, rail: str) -> str:
        if rail not in self._rails:
            raise DeviceCommandError(
                f"{self._name}: unknown rail {rail!r} (rails: {', '.join(self._rails)})"
            )
        return rail

    def set_rail(self, rail: str, on: bool) -> None:
        self._require_power()
        self._check_rail(rail)
        p = self.world.power
        if on and p.rail_tripped(rail):
            raise DeviceCommandError(f"{self._name}: rail {rail!r} is tripped; reset it first")
        p.set_rail_on(rail, bool(on))
        self._loads_changed()

    def reset_rail(self, rail: str) -> None:
        self._require_power()
        self._check_rail(rail)
        p = self.world.power
        # Clear the latch with the switch open: the rail comes back only when commanded on.
        p.set_rail_on(rail, False)
        p.reset_rail(rail)
        self._loads_changed()

    def read(self) -> PduReading:
        self._require_power()
        p = self.world.power
        rails = []
        for r in self._rails:
            tripped = bool(p.rail_tripped(r))
            on = bool(p.rail_on(r)) and not tripped
            rails.append(RailStatus(r, on, tripped, float(p.rail_current_a(r)) if on else 0.0))
        return PduReading(self._now(), True, tuple(rails))
