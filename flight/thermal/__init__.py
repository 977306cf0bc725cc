"""Thermal control: zones with limits, heaters (hysteresis or PID) capped by the power budget,
radiator control, throttle requests to the AI executor, prediction, hardware checks.

``install(ctx, cfg)`` adds the :class:`ThermalController`; see :class:`ThermalConfig` and
:class:`ZoneConfig` for the ``[thermal]`` keys.
"""

from __future__ import annotations

from typing import Any

from flight.core import InstallContext
from flight.thermal._control import Hysteresis, Pid
from flight.thermal._controller import ThermalConfig, ThermalController, ZoneConfig
from flight.thermal._predict import ZonePredictor
from native import schema

__all__ = [
    "Config",
    "Hysteresis",
    "Pid",
    "ThermalApp",
    "ThermalConfig",
    "ThermalController",
    "ZoneConfig",
    "ZonePredictor",
    "install",
    "parse_config",
]

#: This application's configuration schema (the ``[thermal]`` section).
Config = ThermalConfig


def parse_config(section: dict[str, Any]) -> ThermalConfig:
    """Check the ``[thermal]`` table (zones included) against :class:`ThermalConfig`.

    ConfigError (one line naming the key, e.g. ``[thermal.zones[battery]] min_c``) on an
    unknown key, a wrong type, a non-finite or out-of-range number, zone limits out of
    order, a setpoint outside its zone, duplicate zone names or an unknown compute zone.
    """
    return schema.parse(ThermalConfig, section, "thermal")


class ThermalApp:
    """The thermal application as the node keeps it."""

    def __init__(self, controller: ThermalController) -> None:
        self.controller = controller

    def summary(self) -> dict[str, Any]:
        """The ``thermal`` section of summary.json."""
        c = self.controller
        return {
            "zones": {
                z.name: {
                    "min_c": c.zone_min_c[z.name],
                    "max_c": c.zone_max_c[z.name],
                    "limit_min_c": z.min_c,
                    "limit_max_c": z.max_c,
                    "seconds_outside": c.violation_s[z.name],
                }
                for z in c.cfg.zones
            },
            "heater_faults": sorted(c.faulty_heaters),
            "stuck_sensors": sorted(c.stuck),
            "noisy_sensors": sorted(c.noisy),
            "unknown_zones": sorted(c.unknown),
            "throttle_final": c.hk.throttle_frac,
        }


def install(ctx: InstallContext, cfg: ThermalConfig) -> ThermalApp:
    """Add the thermal controller (component ``thermal``; devices by name from the backend)."""
    from hal import Heater, Radiator, TemperatureSensors

    sensors = ctx.device("sensors", cfg.sensors, TemperatureSensors)
    heaters = {
        z.heater: ctx.device(f"zones.{z.name}.heater", z.heater, Heater)
        for z in cfg.zones
        if z.heater
    }
    radiator = ctx.device("radiator", cfg.radiator, Radiator) if cfg.radiator else None
    controller = ThermalController(
        cfg, sensors, heaters, radiator, component_id=ctx.component_id("thermal")
    )
    ctx.add(controller, cfg.rate_hz)
    return ThermalApp(controller)
