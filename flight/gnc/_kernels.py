"""The one place where flight/gnc binds to the native orbit kernels and constants.

Every GNC module imports the Numba orbit kernels (RK4 step and batch, element conversions,
the analytic J2 mean-element propagator) and the Earth constants from here, so that a move
of the kernels inside ``native`` touches one file. Units: m, s, rad, kg.
"""

from __future__ import annotations

import numpy as np

from native._orbit_constants import (
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    G0_M_S2,
    J2,
    MU_EARTH_M3_S2,
)
from native._orbit_numba import (
    elements_to_state_kernel,
    propagate_j2_kernel,
    rk4_batch_kernel,
    rk4_step,
    state_to_elements_kernel,
)

__all__ = [
    "DUMMY_DENSITY_TABLE",
    "EARTH_RADIUS_M",
    "EARTH_ROTATION_RAD_S",
    "G0_M_S2",
    "J2",
    "MU_EARTH_M3_S2",
    "ZERO3",
    "elements_to_state_kernel",
    "propagate_j2_kernel",
    "rk4_batch_kernel",
    "rk4_step",
    "state_to_elements_kernel",
]

#: Density table passed to the RK4 kernels when drag is off (``cdam = 0``; never read).
DUMMY_DENSITY_TABLE = np.zeros((2, 4), dtype=np.float64)
#: Bulge apex placeholder for the batch kernel (unused without drag).
ZERO3 = np.array([1.0, 0.0, 0.0], dtype=np.float64)
