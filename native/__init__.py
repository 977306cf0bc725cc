"""Native kernels: C (cffi, compiled at install) and Numba, each with a NumPy reference.

``native`` imports nothing else of satnode. The kernel backend is chosen explicitly with
``SATNODE_NATIVE=auto|c|numba|python``; see :mod:`native.backend`, whose
:func:`~native.backend.backend_report` says which implementation (and CPU variant) runs each
kernel.

Bit kernels (memory protection and integrity):

* Hsiao (72,64) SECDED: :func:`secded_encode`, :func:`secded_check`, :func:`secded_scrub`.
* TMR: :func:`tmr_vote`, :func:`tmr_repair`.
* CRC: :func:`crc16_ccitt` (CCSDS packet error control), :func:`crc32c`.

Physics kernels (orbit, environment, thermal):

* Orbit: :func:`propagate_rk4_batch` (point mass + J2 + drag), :func:`propagate_j2_batch`
  (analytic J2 mean elements), :func:`elements_to_state`, :func:`state_to_elements`,
  :func:`j2_secular_rates`.
* Environment: :func:`sun_position`, :func:`shadow_fraction`, :func:`atmospheric_density`,
  :func:`days_since_j2000`.
* Thermal: :func:`thermal_step`, :func:`view_factor_plate_earth`.
"""

from native._crc import crc16_ccitt, crc32c
from native._env import atmospheric_density, days_since_j2000, shadow_fraction, sun_position
from native._orbit import (
    elements_to_state,
    j2_secular_rates,
    propagate_j2_batch,
    propagate_rk4_batch,
    rk4_accel_step,
    state_to_elements,
)
from native._secded import CheckResult, ScrubResult, secded_check, secded_encode, secded_scrub
from native._thermal import thermal_step, view_factor_plate_earth
from native._tmr import tmr_repair, tmr_vote
from native.backend import (
    backend_report,
    register_kernel,
    selected_backend,
    set_backend,
    use_backend,
)
from native.errors import (
    BackendUnavailableError,
    KernelArgumentError,
    NativeError,
    SatnodeError,
)

__all__ = [
    "BackendUnavailableError",
    "CheckResult",
    "KernelArgumentError",
    "NativeError",
    "SatnodeError",
    "ScrubResult",
    "atmospheric_density",
    "backend_report",
    "crc16_ccitt",
    "crc32c",
    "days_since_j2000",
    "elements_to_state",
    "j2_secular_rates",
    "propagate_j2_batch",
    "propagate_rk4_batch",
    "register_kernel",
    "rk4_accel_step",
    "secded_check",
    "secded_encode",
    "secded_scrub",
    "selected_backend",
    "set_backend",
    "shadow_fraction",
    "state_to_elements",
    "sun_position",
    "thermal_step",
    "tmr_repair",
    "tmr_vote",
    "use_backend",
    "view_factor_plate_earth",
]
