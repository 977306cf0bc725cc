"""The one place where flight/gnc binds to the native orbit kernels and constants.

Only public wrappers of :mod:`native` are used (element conversions, batch RK4, the single
RK4 step with an extra acceleration, J2 secular rates): they honour ``SATNODE_NATIVE``.
Units: m, s, rad, kg.
"""

from __future__ import annotations

from native import (
    elements_to_state,
    j2_secular_rates,
    propagate_rk4_batch,
    rk4_accel_step,
    state_to_elements,
)
from native.constants import (
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    G0_M_S2,
    J2,
    MU_EARTH_M3_S2,
)

__all__ = [
    "EARTH_RADIUS_M",
    "EARTH_ROTATION_RAD_S",
    "G0_M_S2",
    "J2",
    "MU_EARTH_M3_S2",
    "elements_to_state",
    "j2_secular_rates",
    "propagate_rk4_batch",
    "rk4_accel_step",
    "state_to_elements",
]
