"""``world.thermal``: the lumped-parameter thermal network (see :mod:`native._thermal`)."""

from __future__ import annotations

import math

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.errors import DeviceCommandError

__all__ = ["ThermalView"]

_KELVIN = 273.15


def _finite_nonneg(value: float, what: str) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError) as exc:
        raise DeviceCommandError(f"{what} must be a real number, got {value!r}") from exc
    if not math.isfinite(w) or w < 0.0:
        raise DeviceCommandError(f"{what} must be finite and >= 0, got {value!r}")
    return w


class ThermalView:
    """Node temperatures and the thermal commands (heaters, dissipation, radiator).

    Heater power is drawn from the heater rail (``world.power``) and heats its node only
    while that rail is on and not tripped; dissipation is heat from devices whose electrical
    draw they declare on their own rails.
    """

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    @property
    def node_names(self) -> tuple[str, ...]:
        """Names of the thermal nodes, in configuration order."""
        return self._c.node_names

    def _index(self, name: str) -> int:
        try:
            return self._c.node_index[name]
        except KeyError:
            raise DeviceCommandError(
                f"unknown thermal node {name!r} (one of {', '.join(self._c.node_names)})"
            ) from None

    def temp_c(self, name: str) -> float:
        """Temperature of node ``name`` (deg C)."""
        return float(self._c.temp_k[self._index(name)] - _KELVIN)

    def temps_c(self) -> dict[str, float]:
        """All node temperatures (deg C) by name."""
        return {
            n: float(t - _KELVIN) for n, t in zip(self._c.node_names, self._c.temp_k, strict=True)
        }

    def set_heater_w(self, name: str, watts: float) -> None:
        """Set the heater power (W >= 0) into node ``name``, drawn from the heater rail."""
        i = self._index(name)
        self._c.heater_w[i] = _finite_nonneg(watts, f"heater power of {name!r}")
        self._c.refresh_loads()

    def heater_w(self, name: str) -> float:
        """Commanded heater power of node ``name`` (W)."""
        return float(self._c.heater_w[self._index(name)])

    def set_dissipation_w(self, name: str, watts: float) -> None:
        """Set the internal heat load (W >= 0) of node ``name`` (accelerator, avionics)."""
        i = self._index(name)
        self._c.dissipation_w[i] = _finite_nonneg(watts, f"dissipation of {name!r}")
        self._c.refresh_loads()

    def dissipation_w(self, name: str) -> float:
        """Internal heat load of node ``name`` (W)."""
        return float(self._c.dissipation_w[self._index(name)])

    def heat_input_w(self, name: str) -> float:
        """Dissipation plus heater heat actually delivered to node ``name`` (W)."""
        return float(self._c.q_base[self._index(name)])

    def set_radiator_emissivity(self, eps: float) -> float:
        """Command the variable-emissivity radiator; clamped to the configured range.

        Returns the emissivity actually set.
        """
        try:
            e = float(eps)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"radiator emissivity must be a number, got {eps!r}") from exc
        if not math.isfinite(e):
            raise DeviceCommandError(f"radiator emissivity must be finite, got {eps!r}")
        lo, hi = self._c.eps_range
        e = min(hi, max(lo, e))
        self._c.p[L.P_EPS_RAD] = e
        return e

    @property
    def radiator_emissivity(self) -> float:
        """Current emissivity of the variable-emissivity radiator surfaces."""
        return float(self._c.p[L.P_EPS_RAD])

    @property
    def radiator_emissivity_range(self) -> tuple[float, float]:
        """(min, max) commandable radiator emissivity."""
        return self._c.eps_range

    @property
    def radiator_node(self) -> str:
        """Name of the radiator node."""
        return self._c.cfg.thermal.radiator_node
