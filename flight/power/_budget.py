"""The power budget for the coming orbit.

The discretionary loads may draw a constant power ``P_c`` until the end of the next eclipse
(``T_e`` seconds away, of which ``t_s`` in sunlight first and ``t_e = T_e - t_s`` in shadow)
as long as the battery ends above its floor plus a reserve (``E_min``)::

    E_now + min(t_s (eta P_sun - P_bus), E_full - E_now) - t_e P_bus - P_c T_e >= E_min

    =>  P_near = (E_now - E_min + min(t_s (eta P_sun - P_bus), E_full - E_now) - t_e P_bus) / T_e

(the ``min`` stops counting sunlight the full battery could not store). Over many orbits the
load must also be sustainable: ``P_avg = eta P_sun f_sun - P_bus``, so the budget is
``min(P_near, P_avg + (E_now - E_min) / T_e)``, never below 0. With no eclipse ahead (high beta)
only the orbit-average term applies. Energies in Wh, powers in W, times in s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["BudgetInputs", "compute_budget"]


@dataclass(frozen=True, slots=True)
class BudgetInputs:
    """Everything the budget needs (W, Wh, s, fractions)."""

    soc_frac: float
    floor_frac: float
    reserve_frac: float
    battery_wh: float
    array_sun_w: float  #: array output in full sun (last measured while sunlit)
    bus_w: float  #: never-shed load
    sunlit_fraction: float  #: of an orbit
    in_eclipse: bool
    next_entry_s: float
    next_exit_s: float
    eclipse_duration_s: float
    orbit_period_s: float
    charge_efficiency: float = 0.92


def compute_budget(b: BudgetInputs) -> tuple[float, float]:
    """(compute_w, energy_margin_wh): the budget and the energy above the floor+reserve now."""
    e_now = b.soc_frac * b.battery_wh
    e_min = (b.floor_frac + b.reserve_frac) * b.battery_wh
    margin_wh = e_now - e_min
    p_avg = b.charge_efficiency * b.array_sun_w * b.sunlit_fraction - b.bus_w
    if b.in_eclipse:
        t_s, t_end = 0.0, b.next_exit_s
    elif math.isfinite(b.next_entry_s):
        t_s, t_end = b.next_entry_s, b.next_entry_s + b.eclipse_duration_s
    else:
        t_s, t_end = math.inf, math.inf
    if not math.isfinite(t_end) or t_end <= 0:
        return max(0.0, p_avg + margin_wh * 3600.0 / b.orbit_period_s), margin_wh
    t_e = t_end - t_s
    sun_gain_wh = min(
        t_s * (b.charge_efficiency * b.array_sun_w - b.bus_w) / 3600.0, b.battery_wh - e_now
    )
    p_near = (margin_wh + sun_gain_wh - t_e * b.bus_w / 3600.0) * 3600.0 / t_end
    p_sustain = p_avg + margin_wh * 3600.0 / t_end
    return max(0.0, min(p_near, p_sustain)), margin_wh
