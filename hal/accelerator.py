"""AI accelerator interface: work submission, power modes, status and error counters.

Work is either a *named kernel* (``"matmul"``, ``"add"``, ``"relu"``, ``"softmax"``: the
standard set every backend accepts, see :data:`STANDARD_KERNELS`) with numpy inputs, or a
Python callable with its inputs and an explicit operation count ``ops``. A callable may be
NumPy or Numba code: backends that model an accelerator (``sim``) run it on the CPU and
account *modelled* time ``ops / (tops * 1e12)`` and energy ``power_w * modelled time`` for the
power mode in force at submission.

Jobs are asynchronous: :meth:`Accelerator.submit` returns a job id at once; poll
:meth:`Accelerator.result` until it returns a :class:`JobResult`. A hung accelerator never
completes its jobs; :meth:`Accelerator.reset` clears it and loses the jobs in flight (their
``result`` raises DeviceFaultError).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hal._common import Device

__all__ = [
    "STANDARD_KERNELS",
    "Accelerator",
    "AcceleratorReading",
    "AcceleratorStatus",
    "JobResult",
    "JobState",
    "Kernel",
    "ModeSpec",
    "PowerMode",
]


@enum.unique
class PowerMode(enum.StrEnum):
    """Accelerator power modes; the figures per mode come from configuration."""

    OFF = "OFF"
    LOW = "LOW"
    MID = "MID"
    HIGH = "HIGH"


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """Performance and power of one mode."""

    tops: float  #: sustained throughput, tera-operations per second (0 for OFF)
    power_w: float  #: electrical power while computing, W (all of it becomes heat)
    idle_w: float  #: electrical power while idle in this mode, W

    def modelled_s(self, ops: float) -> float:
        """Modelled execution time (s) of ``ops`` operations in this mode."""
        return ops / (self.tops * 1e12) if self.tops > 0 else math.inf


@enum.unique
class AcceleratorStatus(enum.IntEnum):
    """Device status as reported by the accelerator's management firmware."""

    OFF = 0  #: in PowerMode.OFF; no work accepted
    IDLE = 1
    BUSY = 2  #: executing or holding queued work
    HUNG = 3  #: the firmware's progress monitor saw no progress; needs reset()
    FAULT = 4


@enum.unique
class JobState(enum.IntEnum):
    """Life cycle of one submitted job."""

    QUEUED = 0
    RUNNING = 1
    DONE = 2
    LOST = 3  #: discarded by a reset (or a hang followed by reset)


@dataclass(frozen=True, slots=True)
class JobResult:
    """The outcome of a completed job, with the modelled accounting."""

    job_id: int
    kernel: str  #: kernel name, or the callable's ``__name__``
    outputs: Any  #: what the kernel returned (numpy arrays for the standard kernels)
    ops: float  #: operations accounted
    modelled_s: float  #: modelled execution time, s
    energy_j: float  #: modelled energy, J (mode power_w * modelled_s)
    t_submit_ns: int
    t_start_ns: int
    t_done_ns: int


@dataclass(frozen=True, slots=True)
class AcceleratorReading:
    """Accelerator telemetry."""

    t_ns: int
    valid: bool
    status: AcceleratorStatus
    mode: PowerMode
    power_w: float  #: electrical draw now, W
    temp_c: float  #: die / board temperature, deg C
    jobs_pending: int  #: queued or running jobs
    jobs_done: int  #: jobs completed since power-on
    energy_j: float  #: cumulative modelled compute energy of completed jobs, J
    ecc_corrected: int  #: memory errors corrected by the device's ECC
    ecc_uncorrected: int  #: memory errors detected but not correctable
    resets: int  #: resets since power-on


@dataclass(frozen=True, slots=True)
class Kernel:
    """A named kernel: a CPU implementation and its operation count."""

    name: str
    fn: Callable[..., Any]
    ops: Callable[..., float]  #: operations for the given inputs
    n_inputs: int


def _matmul_ops(a: np.ndarray, b: np.ndarray) -> float:
    """2 k per output element (one multiply and one add per term), as np.matmul shapes."""
    a2 = a if a.ndim > 1 else a.reshape(1, -1)
    b2 = b if b.ndim > 1 else b.reshape(-1, 1)
    out_shape = (*np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]), a2.shape[-2], b2.shape[-1])
    return float(2.0 * a2.shape[-1] * math.prod(out_shape))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)  # type: ignore[no-any-return]


#: The named kernels every backend accepts (operation counts: multiply-add = 2 ops).
STANDARD_KERNELS: Mapping[str, Kernel] = {
    "matmul": Kernel("matmul", np.matmul, _matmul_ops, 2),
    "add": Kernel("add", np.add, lambda a, b: float(np.broadcast(a, b).size), 2),
    "relu": Kernel("relu", lambda x: np.maximum(x, 0), lambda x: float(np.size(x)), 1),
    "softmax": Kernel("softmax", _softmax, lambda x: 5.0 * float(np.size(x)), 1),
}


@runtime_checkable
class Accelerator(Device, Protocol):
    """An AI accelerator card (family ``accelerator``)."""

    @property
    def modes(self) -> Mapping[PowerMode, ModeSpec]:
        """Throughput and power of every mode."""
        ...

    @property
    def kernels(self) -> tuple[str, ...]:
        """Names of the kernels :meth:`submit` accepts by name."""
        ...

    def set_mode(self, mode: PowerMode | str) -> None:
        """Change the power mode (unknown mode -> DeviceCommandError). Jobs already
        submitted keep the timing of the mode they were submitted in."""
        ...

    def submit(self, work: str | Callable[..., Any], *inputs: Any, ops: float | None = None) -> int:
        """Queue work; returns the job id.

        ``work`` is a kernel name (``ops`` computed from the inputs unless given) or a
        callable (``ops`` required, finite, >= 0). Raises DeviceCommandError for an unknown
        kernel, wrong input count or bad ``ops``; DeviceUnavailableError in mode OFF or when
        unpowered. Exceptions raised by the work itself propagate unchanged.
        """
        ...

    def state(self, job_id: int) -> JobState:
        """State of job ``job_id`` (unknown id -> DeviceCommandError)."""
        ...

    def result(self, job_id: int) -> JobResult | None:
        """The result of a finished job, or None while it is queued/running.

        Raises DeviceFaultError if the job was lost to a reset, DeviceCommandError for an
        unknown id.
        """
        ...

    def reset(self) -> None:
        """Reset the accelerator: clears a hang, loses pending jobs, counts a reset."""
        ...

    def read(self) -> AcceleratorReading:
        """Accelerator telemetry."""
        ...
