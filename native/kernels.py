"""Numba building blocks for fused kernels in other packages (the simulated world's step).

The array wrappers in :mod:`native` (``native.sun_position``, ``native.thermal_step``...)
check and allocate, which a kernel fused into one Numba call cannot afford per step. This
module gives those callers the compiled scalar and in-place functions themselves, with the
model selectors and tables they take. Call them only from code compiled with
:func:`native.jit.kernel` (or on validated arrays): they do not check their arguments.

Environment (:mod:`native._env_numba`, reference :mod:`native._env_ref`):

- :func:`sun_position` ``(days_j2000) -> (ux, uy, uz, dist_m)``: Sun unit vector and distance.
- :func:`shadow_fraction` ``(rx, ry, rz, sx, sy, sz, sun_dist_m, model) -> [0, 1]``: sunlit
  fraction, ``model`` one of :data:`SHADOW_CYLINDRICAL`, :data:`SHADOW_CONICAL`.
- :func:`density_kg_m3` and :func:`diurnal_bulge_unit`: atmospheric density (kg/m^3) with
  ``model`` one of :data:`DENSITY_EXPONENTIAL`, :data:`DENSITY_SCALED_EXPONENTIAL`,
  :data:`DENSITY_HARRIS_PRIESTER` over :data:`EXPONENTIAL_TABLE` or
  :data:`HARRIS_PRIESTER_TABLE`; :func:`activity_log_factor` turns F10.7 (sfu) into the
  activity scaling.

Orbit (:mod:`native._orbit_numba`, reference :mod:`native._orbit_ref`):

- :func:`rk4_step`: one RK4 step (point mass, J2, drag, optional thrust), in place on (6,);
  :func:`rk4_batch_kernel` many steps on (N, 6) states.
- :func:`elements_to_state_kernel`, :func:`state_to_elements_kernel`: (N, 6) conversions.

Thermal (:mod:`native._thermal_numba`, reference :mod:`native._thermal_ref`):

- :func:`thermal_step`: one linearised backward-Euler step of the node network, in place.
- :func:`view_factor_plate_earth`: plate-to-Earth view factor.
- ``SURF_*``: the columns of the surface table (``SURF_COLUMNS`` of them).
"""

from __future__ import annotations

from native._env_numba import (
    DENSITY_EXPONENTIAL,
    DENSITY_HARRIS_PRIESTER,
    DENSITY_SCALED_EXPONENTIAL,
    EXPONENTIAL_TABLE,
    HARRIS_PRIESTER_TABLE,
    SHADOW_CONICAL,
    SHADOW_CYLINDRICAL,
    activity_log_factor,
    density_kg_m3,
    diurnal_bulge_unit,
    shadow_fraction,
    sun_position,
)
from native._orbit_numba import (
    elements_to_state_kernel,
    rk4_batch_kernel,
    rk4_step,
    state_to_elements_kernel,
)
from native._thermal_numba import (
    SURF_ALPHA,
    SURF_AREA,
    SURF_COLUMNS,
    SURF_EPS,
    SURF_NODE,
    SURF_NX,
    SURF_VARIABLE,
    thermal_step,
    view_factor_plate_earth,
)

__all__ = [
    "DENSITY_EXPONENTIAL",
    "DENSITY_HARRIS_PRIESTER",
    "DENSITY_SCALED_EXPONENTIAL",
    "EXPONENTIAL_TABLE",
    "HARRIS_PRIESTER_TABLE",
    "SHADOW_CONICAL",
    "SHADOW_CYLINDRICAL",
    "SURF_ALPHA",
    "SURF_AREA",
    "SURF_COLUMNS",
    "SURF_EPS",
    "SURF_NODE",
    "SURF_NX",
    "SURF_VARIABLE",
    "activity_log_factor",
    "density_kg_m3",
    "diurnal_bulge_unit",
    "elements_to_state_kernel",
    "rk4_batch_kernel",
    "rk4_step",
    "shadow_fraction",
    "state_to_elements_kernel",
    "sun_position",
    "thermal_step",
    "view_factor_plate_earth",
]
