"""The workload of a run: a seeded generator of job requests arriving as the node runs.

Arrivals are a Poisson process (``mean_interarrival_s``). Each arrival draws a job *class*
by weight; a class fixes the job kind, the ranges of tiles and relative deadline, the
priority, and the probabilities of DETECT and CORRECT criticality. The input of a job is
the scene acquired at the moment of the request (one acquisition every
:data:`hal.imager.SCENE_PERIOD_S` seconds along the ground track). Everything is reproducible from the seed.

Configuration (``[compute.workload]``; classes under ``[compute.workload.classes.<name>]``)::

    enabled = true
    mean_interarrival_s = 30.0
    start_s = 0.0                  # no arrivals before this onboard time
    [compute.workload.classes.alert]
    kind = "fire_detect"          # cloud_mask | ship_detect | fire_detect
    weight = 1.0
    tiles = [1, 4]                # inclusive range
    deadline_s = [60.0, 240.0]    # relative deadline range, s
    priority = 6
    detect_frac = 0.0             # probability of Criticality.DETECT
    correct_frac = 0.3            # probability of Criticality.CORRECT
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flight.compute._job import Criticality, JobKind, JobRequest
from hal.imager import SCENE_PERIOD_S
from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = [
    "DEFAULT_CLASSES",
    "JobClass",
    "JobClassSection",
    "WorkloadConfig",
    "WorkloadGenerator",
    "WorkloadSection",
]


@dataclass(frozen=True, slots=True)
class JobClass:
    """One class of jobs in the mix."""

    name: str
    kind: JobKind
    weight: float
    tiles: tuple[int, int]
    deadline_s: tuple[float, float]
    priority: int
    detect_frac: float = 0.0
    correct_frac: float = 0.0


#: The default mix: urgent fire alerts, ship tip-offs, and long maritime surveys.
DEFAULT_CLASSES: tuple[JobClass, ...] = (
    JobClass("alert", JobKind.FIRE_DETECT, 0.45, (1, 3), (40.0, 120.0), 6, 0.0, 0.3),
    JobClass("tipoff", JobKind.SHIP_DETECT, 0.35, (2, 6), (90.0, 300.0), 4, 0.2, 0.0),
    JobClass("survey", JobKind.SHIP_DETECT, 0.15, (60, 180), (1800.0, 5400.0), 1),
    JobClass("clouds", JobKind.CLOUD_MASK, 0.05, (20, 80), (600.0, 1800.0), 2),
)


@dataclass(frozen=True, slots=True)
class WorkloadConfig:
    """Parameters of the generator (see the module docstring)."""

    enabled: bool = True
    mean_interarrival_s: float = 30.0
    start_s: float = 0.0
    classes: tuple[JobClass, ...] = DEFAULT_CLASSES

    @classmethod
    def from_section(cls, table: Mapping[str, Any] | None) -> WorkloadConfig:
        """Parse ``[compute.workload]`` (ConfigError naming the key on any problem)."""
        return schema.parse(
            WorkloadSection, {} if table is None else table, "compute.workload"
        ).to_config()


@dataclass(frozen=True, slots=True)
class JobClassSection:
    """``[compute.workload.classes.<name>]``: one class of jobs (a :mod:`native.schema` section)."""

    kind: str = setting(
        "ship_detect", choices=tuple(k.name.lower() for k in JobKind), doc="what the jobs compute"
    )
    weight: float = setting(1.0, lo=0, hi=1e6, doc="relative share of the arrivals")
    tiles: tuple[int, int] = setting((1, 4), lo=1, hi=65535, doc="tiles per job, [low, high]")
    deadline_s: tuple[float, float] = setting(
        (60.0, 600.0), lo=1e-3, hi=1e7, units="s", doc="relative deadline range, [low, high]"
    )
    priority: int = setting(3, lo=0, hi=7, doc="job priority (7 highest)")
    detect_frac: float = setting(0.0, lo=0, hi=1, doc="probability of Criticality.DETECT")
    correct_frac: float = setting(0.0, lo=0, hi=1, doc="probability of Criticality.CORRECT")

    def validate(self) -> None:
        """Ranges in order; the criticality probabilities add up to at most 1."""
        if self.tiles[0] > self.tiles[1]:
            raise ConfigError(f"tiles: low {self.tiles[0]} > high {self.tiles[1]}")
        if self.deadline_s[0] > self.deadline_s[1]:
            raise ConfigError(
                f"deadline_s: low {self.deadline_s[0]!r} > high {self.deadline_s[1]!r}"
            )
        if self.detect_frac + self.correct_frac > 1.0:
            raise ConfigError("correct_frac: detect_frac + correct_frac > 1")


@dataclass(frozen=True, slots=True)
class WorkloadSection:
    """``[compute.workload]`` as written in TOML (a :mod:`native.schema` section);
    :meth:`to_config` gives the generator's :class:`WorkloadConfig`."""

    enabled: bool = setting(True, doc="generate jobs")
    mean_interarrival_s: float = setting(
        30.0, lo=1e-3, hi=1e7, units="s", doc="mean time between arrivals (Poisson)"
    )
    start_s: float = setting(0.0, lo=0, hi=1e9, units="s", doc="no arrivals before this time")
    classes: dict[str, JobClassSection] | None = setting(
        None, min_len=1, doc="job classes by name (absent: the default mix)"
    )

    def validate(self) -> None:
        """Some class has a weight above zero."""
        if self.classes is not None and sum(c.weight for c in self.classes.values()) <= 0.0:
            raise ConfigError("classes: the weights must add up to > 0")

    def to_config(self) -> WorkloadConfig:
        """The generator's configuration."""
        classes = DEFAULT_CLASSES
        if self.classes is not None:
            classes = tuple(
                JobClass(
                    name,
                    JobKind[c.kind.upper()],
                    c.weight,
                    c.tiles,
                    c.deadline_s,
                    c.priority,
                    c.detect_frac,
                    c.correct_frac,
                )
                for name, c in self.classes.items()
            )
        return WorkloadConfig(self.enabled, self.mean_interarrival_s, self.start_s, classes)


class WorkloadGenerator:
    """Seeded job arrivals; :meth:`due` returns the requests that arrived by a time."""

    def __init__(self, config: WorkloadConfig, seed: int) -> None:
        if not config.classes or sum(c.weight for c in config.classes) <= 0.0:
            raise ConfigError("compute.workload.classes: weights must add up to > 0")
        self.config = config
        self._rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x10B5])
        w = np.array([c.weight for c in config.classes], dtype=np.float64)
        self._p = w / w.sum()
        self._next_ns = round((config.start_s + self._gap()) * 1e9)
        self.generated = 0

    def _gap(self) -> float:
        return float(self._rng.exponential(self.config.mean_interarrival_s))

    def due(self, t_ns: int) -> list[JobRequest]:
        """Requests whose arrival time is <= ``t_ns`` (each returned once, in order)."""
        out: list[JobRequest] = []
        if not self.config.enabled:
            return out
        while self._next_ns <= t_ns:
            out.append(self._draw(self._next_ns))
            self._next_ns += max(1, round(self._gap() * 1e9))
        self.generated += len(out)
        return out

    def _draw(self, t_ns: int) -> JobRequest:
        rng = self._rng
        cls = self.config.classes[int(rng.choice(len(self.config.classes), p=self._p))]
        tiles = int(rng.integers(cls.tiles[0], cls.tiles[1] + 1))
        deadline = float(rng.uniform(*cls.deadline_s))
        u = float(rng.random())
        if u < cls.correct_frac:
            crit = Criticality.CORRECT
        elif u < cls.correct_frac + cls.detect_frac:
            crit = Criticality.DETECT
        else:
            crit = Criticality.NORMAL
        scene = int(t_ns // round(SCENE_PERIOD_S * 1e9))
        return JobRequest(cls.kind, cls.priority, deadline, crit, scene, tiles)
