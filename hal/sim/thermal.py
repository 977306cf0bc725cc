"""Simulated thermal hardware: heaters and the variable-emissivity radiator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from hal._common import Family, require_range
from hal.sim._base import Options, SimDevice, SimSensor
from hal.sim._context import DeviceContext
from hal.thermal import Heater, HeaterReading, Radiator, RadiatorReading

__all__ = ["SimHeater", "SimRadiator"]


class SimHeater(SimDevice, Heater):
    """A resistive heater on a thermal node.

    Keys: ``node`` (required, thermal node heated), ``rated_w`` (10.0 W at 100 % duty),
    ``rail`` (default: the world's heater rail; the world draws heater power from that rail and
    heats only while it is on). Faults ``heater_stuck_on`` (relay welded: full rated power
    whatever the command) and ``heater_stuck_off`` (open circuit: no power).
    """

    family: ClassVar[Family] = Family.HEATER
    FAULTS: ClassVar[frozenset[str]] = frozenset({"heater_stuck_on", "heater_stuck_off"})

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        if not opts.has("rail"):
            opts.setdefault("rail", ctx.world.power.heater_rail)
        super().__init__(name, ctx, opts)
        nodes = tuple(self.world.thermal.node_names)
        self._node = opts.string("node", None, nodes)
        # 10 kW bounds any spacecraft heater; beyond it a value is a typo, not a heater
        self._rated_w = opts.real("rated_w", 10.0, lo=0.0, lo_open=True, hi=10_000.0)
        opts.finish()
        self._on = False
        self._duty = 1.0
        self._stuck: str | None = None

    @property
    def rated_w(self) -> float:
        return self._rated_w

    @property
    def node(self) -> str:
        """Thermal node this heater heats."""
        return self._node

    def actual_w(self) -> float:
        """Power really dissipated now (W), faults included."""
        if not self.powered or self._stuck == "heater_stuck_off":
            return 0.0
        if self._stuck == "heater_stuck_on":
            return self._rated_w
        return self._rated_w * self._duty if self._on else 0.0

    def set_on(self, on: bool) -> None:
        self._require_power()
        if bool(on) != self._on:  # the same command again changes no load
            self._on = bool(on)
            self._loads_changed()

    def set_duty(self, duty_frac: float) -> None:
        self._require_power()
        duty = require_range(duty_frac, 0.0, 1.0, f"{self._name}: duty_frac")
        if duty != self._duty:
            self._duty = duty
            self._loads_changed()

    def read(self) -> HeaterReading:
        self._require_power()
        return HeaterReading(self._now(), True, self._on, self._duty, self.actual_w())

    def _rail_loads(self) -> Iterable[tuple[str, float]]:
        # Heater power is drawn by the world from its heater rail (WorldConfig.power); only a
        # quiescent draw is declared here.
        return super()._rail_loads()

    def _heat(self) -> Iterable[tuple[str, str, float]]:
        return (("heater", self._node, self.actual_w()),)

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind not in self.FAULTS:
            super().apply_fault(kind, channel, params)
        self._stuck = kind
        self._loads_changed()

    def clear_fault(self, kind: str, channel: str | None) -> None:
        if self._stuck == kind:
            self._stuck = None
            self._loads_changed()

    def _on_reboot(self, reason: Any) -> None:
        # Heater switches are driven by flight GPIOs that default to off at reset.
        self._on = False
        self._duty = 1.0


class SimRadiator(SimSensor, Radiator):
    """The world's variable-emissivity radiator (temperature channel ``temp``).

    Keys: ``noise_c`` (0.1) of the panel temperature sensor. The emissivity range is the
    world's (``world.thermal.radiator_emissivity_min/max``).
    """

    family: ClassVar[Family] = Family.RADIATOR

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("temp",))
        self._noise = opts.real("noise_c", 0.1, lo=0.0)
        opts.finish()
        lo, hi = ctx.world.thermal.radiator_emissivity_range
        self._range = (float(lo), float(hi))
        self._node = str(ctx.world.thermal.radiator_node)

    @property
    def emissivity_range(self) -> tuple[float, float]:
        return self._range

    def set_emissivity(self, emissivity: float) -> None:
        self._require_power()
        lo, hi = self._range
        eps = require_range(emissivity, lo, hi, f"{self._name}: emissivity")
        self.world.thermal.set_radiator_emissivity(eps)

    def read(self) -> RadiatorReading:
        self._require_power()
        th = self.world.thermal
        m = self._measure("temp", float(th.temp_c(self._node)), noise=self._noise)
        temp = float("nan") if m is None else float(m)
        return RadiatorReading(self._now(), m is not None, float(th.radiator_emissivity), temp)
