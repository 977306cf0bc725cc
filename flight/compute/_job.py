"""The job model of the AI task executor.

A job is one request for accelerator work: an EO analysis of ``tiles`` tiles of scene
``scene_id`` (its input reference), of a :class:`JobKind`, with a priority, an absolute
deadline (onboard ns), a :class:`Criticality` (how many replicas run) and budgets of
accelerator time (s) and energy (J). Estimates of time and energy are made at admission for
the power mode the scheduler expects to use; what the job really used is in
:class:`Progress`. Times are integer ns of the onboard clock unless a name says ``_s``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flight.compute._eo import Detection, Head

__all__ = [
    "Criticality",
    "Job",
    "JobKind",
    "JobRequest",
    "JobState",
    "Progress",
    "RejectReason",
]


@enum.unique
class JobKind(enum.IntEnum):
    """What a job computes (the wire value is the PUS-8 ``kind`` argument)."""

    CLOUD_MASK = 1  #: cloud mask and cloud fraction only
    SHIP_DETECT = 2  #: cloud mask + conv detector, ship head
    FIRE_DETECT = 3  #: cloud mask + conv detector, fire head

    @property
    def detect(self) -> bool:
        """True when the job runs the detector."""
        return self is not JobKind.CLOUD_MASK

    @property
    def heads(self) -> tuple[Head, ...]:
        """Detector heads whose detections the job reports."""
        return {
            JobKind.CLOUD_MASK: (),
            JobKind.SHIP_DETECT: (Head.SHIP,),
            JobKind.FIRE_DETECT: (Head.FIRE,),
        }[self]


@enum.unique
class Criticality(enum.IntEnum):
    """Redundant execution of a job's chunks."""

    NORMAL = 0  #: one run
    DETECT = 1  #: two runs compared; a mismatch re-runs the chunk
    CORRECT = 2  #: three runs voted bitwise (native TMR kernel); mismatches corrected

    @property
    def replicas(self) -> int:
        """Runs per chunk."""
        return int(self) + 1


@enum.unique
class JobState(enum.IntEnum):
    """Life cycle of a job."""

    QUEUED = 0
    RUNNING = 1  #: a chunk is on the accelerator
    COMPLETED = 2
    CANCELLED = 3
    ABORTED = 4  #: over its time or energy budget
    FAILED = 5  #: retries exhausted (hangs, faults, replica mismatches)
    MISSED = 6  #: dropped because its deadline passed

    @property
    def final(self) -> bool:
        """True for states a job never leaves."""
        return self >= JobState.COMPLETED


@enum.unique
class RejectReason(enum.IntEnum):
    """Why admission control refused a job (also counted per reason in housekeeping)."""

    QUEUE_FULL = 1
    DEADLINE_INFEASIBLE = 2  #: it (or a job already admitted) would miss its deadline
    OVER_TIME_BUDGET = 3  #: its estimated accelerator time exceeds its time budget
    OVER_ENERGY_BUDGET = 4  #: its estimated energy exceeds its energy budget
    COMPUTE_UNAVAILABLE = 5  #: no power budget, thermal throttle at 0 or mode not NOMINAL
    MALFORMED = 6  #: request out of range (also a PUS-1 ILLEGAL_ARGUMENT failure)


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A job as submitted (by the ground over PUS-8, or by the workload generator).

    ``deadline_s`` is relative to submission; budgets of 0 mean "the executor's default"
    (the estimate at the slowest/least efficient mode times ``budget_margin``).
    """

    kind: JobKind
    priority: int  #: 0 (lowest) .. 7; breaks EDF ties
    deadline_s: float
    criticality: Criticality
    scene_id: int  #: input reference: acquisition number along the ground track
    tiles: int  #: tiles of the scene to process, from tile 0
    max_time_s: float = 0.0  #: accelerator-time budget, s (0: default)
    max_energy_j: float = 0.0  #: energy budget, J (0: default)


@dataclass(slots=True)
class Progress:
    """What a job has done so far (checkpointed to NV storage after every chunk)."""

    next_tile: int = 0
    used_time_s: float = 0.0  #: accelerator time, all replicas, including lost work
    used_energy_j: float = 0.0  #: modelled energy, all replicas, including lost work
    retries: int = 0
    disagreements: int = 0  #: chunks whose replicas disagreed
    corrected_words: int = 0  #: 64-bit words the TMR vote corrected
    cloud_px: int = 0
    total_px: int = 0
    detections: list[Detection] = field(default_factory=list)


@dataclass(slots=True)
class Job:
    """A job admitted to the executor."""

    job_id: int
    kind: JobKind
    priority: int
    deadline_ns: int
    criticality: Criticality
    scene_id: int
    tiles: int
    submit_ns: int
    est_ops: float  #: modelled operations, all replicas
    est_time_s: float  #: at the mode expected at admission
    est_energy_j: float
    max_time_s: float
    max_energy_j: float
    seq: int = 0  #: arrival order (FIFO)
    state: JobState = JobState.QUEUED
    progress: Progress = field(default_factory=Progress)
    t_done_ns: int = 0

    @property
    def input_ref(self) -> str:
        """The input reference as text: ``scene:<id>/tiles:<n>``."""
        return f"scene:{self.scene_id}/tiles:{self.tiles}"

    @property
    def remaining_frac(self) -> float:
        """Fraction of tiles still to process."""
        return (self.tiles - self.progress.next_tile) / self.tiles

    def remaining_ops(self) -> float:
        """Modelled operations still to run (all replicas)."""
        return self.est_ops * self.remaining_frac
