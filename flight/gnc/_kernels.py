"""The one place where flight/gnc binds to the native orbit kernels and constants.

Public wrappers of :mod:`native` are used where they exist (element conversions, batch RK4,
J2 secular rates: they honour ``SATNODE_NATIVE``). The single RK4 step with a thrust term
(:func:`rk4_step`) has no public wrapper yet, so it is bound here from the Numba module; a
move of the kernels inside ``native`` touches this file only. Units: m, s, rad, kg.
"""

from __future__ import annotations

import numpy as np

from native import elements_to_state, j2_secular_rates, propagate_rk4_batch, state_to_elements
from native._orbit_constants import (
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    G0_M_S2,
    J2,
    MU_EARTH_M3_S2,
)
from native._orbit_numba import rk4_step

__all__ = [
    "DUMMY_DENSITY_TABLE",
    "EARTH_RADIUS_M",
    "EARTH_ROTATION_RAD_S",
    "G0_M_S2",
    "J2",
    "MU_EARTH_M3_S2",
    "elements_to_state",
    "j2_secular_rates",
    "propagate_rk4_batch",
    "rk4_step",
    "state_to_elements",
]

#: Density table passed to :func:`rk4_step` when drag is off (``cdam = 0``; never read).
DUMMY_DENSITY_TABLE = np.zeros((2, 4), dtype=np.float64)
