"""``world.power``: solar array, battery, PDU rails and the bus balance.

The equations are in :mod:`hal.sim.world._kernel`. Readings are evaluated at ``world.t_ns``
from the current state and loads, so ``battery_current_a`` is also the current that the next
physics step applies if nothing changes. Rail currents are ``load / rail voltage``; a rail
whose current exceeds its trip threshold trips (switches off) until :meth:`reset_rail`.
"""

from __future__ import annotations

import math

from hal.sim.world import _layout as L
from hal.sim.world._core import WorldCore
from native.errors import DeviceCommandError

__all__ = ["PowerView"]

_KELVIN = 273.15


class PowerView:
    """Electrical power system readings, commands and faults."""

    __slots__ = ("_c",)

    def __init__(self, core: WorldCore) -> None:
        self._c = core

    # ------------------------------------------------------------------ array
    @property
    def array_power_w(self) -> float:
        """Power the array delivers to the bus after the regulator (W); excludes the shunted."""
        return float(self._c.out()[L.O_A_POWER])

    @property
    def array_available_w(self) -> float:
        """Maximum power the array could deliver now (W)."""
        return float(self._c.out()[L.O_A_AVAIL])

    @property
    def array_current_a(self) -> float:
        """Array output current (A) at the array voltage (before the regulator)."""
        return float(self._c.out()[L.O_A_CURRENT])

    @property
    def array_voltage_v(self) -> float:
        """Array maximum-power voltage (V); 0 when unlit."""
        return float(self._c.out()[L.O_A_VOLT])

    @property
    def array_temp_c(self) -> float:
        """Array temperature (deg C)."""
        return float(self._c.x[L.X_T_ARRAY] - _KELVIN)

    @property
    def array_incidence_cos(self) -> float:
        """Cosine of the Sun's incidence angle on the array."""
        return float(self._c.out()[L.O_A_COSINC])

    @property
    def array_strings_ok(self) -> int:
        """Working array strings."""
        return int(self._c.p[L.P_A_STR_OK])

    @property
    def array_strings_total(self) -> int:
        """Array strings."""
        return int(self._c.p[L.P_A_STR_TOT])

    @property
    def shunt_power_w(self) -> float:
        """Array power shunted because the battery cannot take it (W)."""
        return float(self._c.out()[L.O_SHUNT])

    # ------------------------------------------------------------------ battery
    @property
    def battery_voltage_v(self) -> float:
        """Battery terminal voltage (V) = OCV + I R."""
        return float(self._c.out()[L.O_B_VOLT])

    @property
    def battery_ocv_v(self) -> float:
        """Battery open-circuit voltage (V)."""
        return float(self._c.out()[L.O_B_OCV])

    @property
    def battery_current_a(self) -> float:
        """Battery current (A), positive when charging."""
        return float(self._c.out()[L.O_B_CURRENT])

    @property
    def battery_temp_c(self) -> float:
        """Battery temperature (deg C): the battery's thermal node."""
        c = self._c
        return float(c.temp_k[int(c.p[L.P_BATT_NODE])] - _KELVIN)

    @property
    def battery_charge_ah(self) -> float:
        """Stored charge (Ah)."""
        return float(self._c.x[L.X_CHARGE])

    @property
    def battery_capacity_ah(self) -> float:
        """Capacity (Ah)."""
        return float(self._c.p[L.P_B_CAP_AH])

    @property
    def battery_soc_frac(self) -> float:
        """State of charge, charge / capacity."""
        return float(self._c.x[L.X_CHARGE] / self._c.p[L.P_B_CAP_AH])

    @property
    def battery_cells_ok(self) -> int:
        """Working series blocks."""
        return int(self._c.p[L.P_B_CELLS_OK])

    @property
    def battery_cells_total(self) -> int:
        """Series blocks."""
        return int(self._c.cfg.power.battery.cells_series)

    @property
    def battery_heat_w(self) -> float:
        """Joule heat in the battery (W), added to its thermal node."""
        return float(self._c.out()[L.O_B_HEAT])

    # ------------------------------------------------------------------ bus
    @property
    def bus_load_w(self) -> float:
        """Power drawn from the battery bus by the powered rails incl. converter losses (W)."""
        return float(self._c.p[L.P_LOAD_W])

    @property
    def undervoltage(self) -> bool:
        """True when the battery and array cannot serve the load now."""
        return bool(self._c.out()[L.O_UNDERVOLT] != 0.0)

    @property
    def unserved_w(self) -> float:
        """Load power that cannot be served now (W)."""
        return float(self._c.out()[L.O_UNSERVED])

    def energy_totals_j(self) -> dict[str, float]:
        """Running energy integrals (J): array, load, shunt, battery terminal, battery loss,
        unserved; and the charge integrals (Ah) in and out of the battery."""
        a = self._c.acc
        return {
            "array_j": float(a[L.A_ARRAY_J]),
            "load_j": float(a[L.A_LOAD_J]),
            "shunt_j": float(a[L.A_SHUNT_J]),
            "battery_terminal_j": float(a[L.A_BATT_TERM_J]),
            "battery_loss_j": float(a[L.A_BATT_LOSS_J]),
            "unserved_j": float(a[L.A_UNSERVED_J]),
            "charge_in_ah": float(a[L.A_CHARGE_IN_AH]),
            "charge_out_ah": float(a[L.A_CHARGE_OUT_AH]),
        }

    # ------------------------------------------------------------------ rails
    @property
    def heater_rail(self) -> str:
        """The rail the thermal heaters draw their power from."""
        return self._c.rail_names[self._c.heater_rail]

    @property
    def rail_names(self) -> tuple[str, ...]:
        """PDU rail names, in configuration order."""
        return self._c.rail_names

    def _rail(self, name: str) -> int:
        try:
            return self._c.rail_index[name]
        except KeyError:
            raise DeviceCommandError(
                f"unknown rail {name!r} (one of {', '.join(self._c.rail_names)})"
            ) from None

    def set_rail_on(self, name: str, on: bool) -> None:
        """Switch a rail on or off (a tripped rail stays off until reset)."""
        i = self._rail(name)
        self._c.rail_on[i] = bool(on)
        self._c.refresh_loads()

    def rail_on(self, name: str) -> bool:
        """True when the rail is switched on and not tripped (it delivers power)."""
        i = self._rail(name)
        return bool(self._c.rail_on[i] and not self._c.rail_tripped[i])

    def set_rail_load_w(self, name: str, watts: float) -> None:
        """Declare the power a device draws from rail ``name`` (W >= 0)."""
        i = self._rail(name)
        try:
            w = float(watts)
        except (TypeError, ValueError) as exc:
            raise DeviceCommandError(f"load of rail {name!r} must be a number") from exc
        if not math.isfinite(w) or w < 0.0:
            raise DeviceCommandError(
                f"load of rail {name!r} must be finite and >= 0, got {watts!r}"
            )
        self._c.rail_load_w[i] = w
        self._c.refresh_loads()

    def rail_load_w(self, name: str) -> float:
        """Declared load of the rail (W), the heater rail including the heaters."""
        return float(self._c.rail_demand_w()[self._rail(name)])

    def rail_voltage_v(self, name: str) -> float:
        """Rail voltage (V); 0 when the rail is off or tripped."""
        i = self._rail(name)
        return float(self._c.rail_v[i]) if self.rail_on(name) else 0.0

    def rail_current_a(self, name: str) -> float:
        """Rail current (A) = load / voltage; 0 when off or tripped."""
        i = self._rail(name)
        if not self.rail_on(name):
            return 0.0
        return float(self._c.rail_demand_w()[i] / self._c.rail_v[i])

    def rail_trip_a(self, name: str) -> float:
        """Overcurrent trip threshold of the rail (A)."""
        return float(self._c.rail_trip_a[self._rail(name)])

    def rail_tripped(self, name: str) -> bool:
        """True when the rail's overcurrent protection has tripped."""
        return bool(self._c.rail_tripped[self._rail(name)])

    def rail_trip_count(self, name: str) -> int:
        """How many times the rail has tripped."""
        return int(self._c.rail_trip_count[self._rail(name)])

    def reset_rail(self, name: str) -> None:
        """Clear a trip; the rail trips again at once if the overload persists."""
        i = self._rail(name)
        self._c.rail_tripped[i] = False
        self._c.refresh_loads()

    # ------------------------------------------------------------------ faults
    def fail_array_strings(self, n: int) -> None:
        """Fault: lose ``n`` more array strings (clamped at zero working strings)."""
        k = _count(n, "array strings")
        p = self._c.p
        p[L.P_A_STR_OK] = max(0.0, p[L.P_A_STR_OK] - k)
        self._c.refresh_outputs()

    def fail_battery_cells(self, n: int) -> None:
        """Fault: bypass ``n`` more series blocks (the pack loses their voltage)."""
        k = _count(n, "battery cells")
        p = self._c.p
        p[L.P_B_CELLS_OK] = max(0.0, p[L.P_B_CELLS_OK] - k)
        self._c.refresh_outputs()


def _count(n: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise DeviceCommandError(f"number of failed {what} must be an int >= 0, got {n!r}")
    return n
