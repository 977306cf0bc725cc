"""Power: state of charge, eclipse prediction, power budget, load shedding, battery protection.

``install(ctx, cfg)`` adds the :class:`PowerController` to a node; see
:class:`PowerConfig` for the ``[power]`` keys.
"""

from __future__ import annotations

from typing import Any

from flight.core import InstallContext
from flight.power._budget import BudgetInputs, compute_budget
from flight.power._controller import PowerConfig, PowerController
from flight.power._eclipse import EclipseWindow, predict_eclipse
from flight.power._shedding import NEVER_SHED, ShedPolicy
from flight.power._soc import SocEstimator
from native import schema

__all__ = [
    "NEVER_SHED",
    "BudgetInputs",
    "Config",
    "EclipseWindow",
    "PowerApp",
    "PowerConfig",
    "PowerController",
    "ShedPolicy",
    "SocEstimator",
    "compute_budget",
    "install",
    "parse_config",
    "predict_eclipse",
]

#: This application's configuration schema (the ``[power]`` section).
Config = PowerConfig


def parse_config(section: dict[str, Any]) -> PowerConfig:
    """Check the ``[power]`` table against :class:`PowerConfig` and build it.

    ConfigError (one line naming the key and what is allowed) on an unknown key, a wrong
    type, a non-finite or out-of-range number, OCV tables that do not interpolate, or a
    never-shed rail in ``shed_rails``.
    """
    return schema.parse(PowerConfig, section, "power")


class PowerApp:
    """What the node keeps of the power application: its component and its summary."""

    def __init__(self, controller: PowerController) -> None:
        self.controller = controller

    def summary(self) -> dict[str, Any]:
        """The ``power`` section of summary.json."""
        hk = self.controller.hk
        return {
            "soc_min": hk.soc_min_frac,
            "soc_final": hk.soc_frac,
            "soc_floor": float(self.controller.param["soc_floor_frac"]),
            "energy_shed_wh": hk.energy_shed_wh,
            "floor_violations": self.controller.soc_floor_violations,
            "ocv_corrections": self.controller.soc.corrections,
            "shed_level_final": int(self.controller.applied),
        }


def install(ctx: InstallContext, cfg: PowerConfig) -> PowerApp:
    """Add the power controller (component ``power``; devices by name from the backend)."""
    from hal import Battery, GnssReceiver, Pdu, SolarArray

    devices: dict[str, Any] = {
        "battery": ctx.device("battery", cfg.battery, Battery),
        "array": ctx.device("array", cfg.array, SolarArray),
        "pdu": ctx.device("pdu", cfg.pdu, Pdu),
    }
    if cfg.gnss:
        devices["gnss"] = ctx.device("gnss", cfg.gnss, GnssReceiver)
    controller = PowerController(cfg, devices, component_id=ctx.component_id("power"))
    ctx.add(controller, cfg.rate_hz)
    return PowerApp(controller)
