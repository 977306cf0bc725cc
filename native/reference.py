"""The pure-NumPy references of every kernel: the test oracles, public for tests and benchmarks.

Each reference is written for clarity, not speed, with the calling convention of the kernel it
checks (in-place outputs where the kernel writes in place). The SATNODE_NATIVE=python backend
runs these same functions for the physics kernels.

- CRC: :func:`crc16_ccitt_ref`, :func:`crc32c_ref` (bit-serial).
- SECDED (Hsiao 72,64): :func:`encode_ref`, :func:`scrub_ref`, :func:`syndromes_ref`,
  :func:`classify_ref` and its ``KIND_*`` outcomes.
- TMR: :func:`vote_ref`, :func:`repair_ref`.
- Environment: :func:`sun_batch_ref`, :func:`shadow_batch_ref`, :func:`density_batch_ref`.
- Orbit: :func:`acceleration_ref`, :func:`rk4_batch_ref`, :func:`elements_to_state_ref`,
  :func:`state_to_elements_ref`, :func:`propagate_j2_ref`.
- Thermal: :func:`thermal_step_ref`, :func:`view_factor_ref`.
- The simulated world's fused step: :func:`world_advance_ref` and the universe's
  :func:`universe_advance_ref` (with the world's array layout
  passed in, since :mod:`native` imports nothing of the project).
"""

from __future__ import annotations

from native._crc_ref import crc16_ccitt_ref, crc32c_ref
from native._env_ref import density_batch_ref, shadow_batch_ref, sun_batch_ref
from native._orbit_ref import (
    acceleration_ref,
    elements_to_state_ref,
    propagate_j2_ref,
    rk4_batch_ref,
    state_to_elements_ref,
)
from native._secded_ref import (
    KIND_CHECK,
    KIND_CLEAN,
    KIND_DATA,
    KIND_DOUBLE,
    KIND_ODD,
    classify_ref,
    encode_ref,
    scrub_ref,
    syndromes_ref,
)
from native._thermal_ref import thermal_step_ref, view_factor_ref
from native._tmr_ref import repair_ref, vote_ref
from native._world_ref import universe_advance_ref, world_advance_ref

__all__ = [
    "KIND_CHECK",
    "KIND_CLEAN",
    "KIND_DATA",
    "KIND_DOUBLE",
    "KIND_ODD",
    "acceleration_ref",
    "classify_ref",
    "crc16_ccitt_ref",
    "crc32c_ref",
    "density_batch_ref",
    "elements_to_state_ref",
    "encode_ref",
    "propagate_j2_ref",
    "repair_ref",
    "rk4_batch_ref",
    "scrub_ref",
    "shadow_batch_ref",
    "state_to_elements_ref",
    "sun_batch_ref",
    "syndromes_ref",
    "thermal_step_ref",
    "universe_advance_ref",
    "view_factor_ref",
    "vote_ref",
    "world_advance_ref",
]
