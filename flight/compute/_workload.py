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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flight.compute._job import Criticality, JobKind, JobRequest
from hal.imager import SCENE_PERIOD_S
from native.errors import ConfigError

__all__ = ["DEFAULT_CLASSES", "JobClass", "WorkloadConfig", "WorkloadGenerator"]


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
        t = dict(table or {})
        path = "compute.workload"
        known = {"enabled", "mean_interarrival_s", "start_s", "classes"}
        unknown = sorted(set(t) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}")
        enabled = t.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{path}.enabled: must be true or false")
        mean = _real(t.get("mean_interarrival_s", 30.0), f"{path}.mean_interarrival_s", lo=1e-3)
        start = _real(t.get("start_s", 0.0), f"{path}.start_s", lo=0.0)
        classes = DEFAULT_CLASSES
        if "classes" in t:
            raw = t["classes"]
            if not isinstance(raw, Mapping) or not raw:
                raise ConfigError(f"{path}.classes: must be a non-empty table of tables")
            classes = tuple(
                _parse_class(name, spec, f"{path}.classes.{name}") for name, spec in raw.items()
            )
        return cls(enabled, mean, start, classes)


def _real(v: Any, path: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(f"{path}: must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{path}: {v!r} outside [{lo}, {hi}]")
    return float(v)


def _pair(v: Any, path: str, integer: bool) -> tuple[Any, Any]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise ConfigError(f"{path}: must be [low, high]")
    if integer:
        if any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in v):
            raise ConfigError(f"{path}: must be two integers >= 1")
        pair: tuple[float, float] = (int(v[0]), int(v[1]))
    else:
        pair = (_real(v[0], path, lo=1e-3), _real(v[1], path, lo=1e-3))
    if pair[0] > pair[1]:
        raise ConfigError(f"{path}: low > high")
    return pair


def _parse_class(name: str, spec: Any, path: str) -> JobClass:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: must be a table")
    known = {"kind", "weight", "tiles", "deadline_s", "priority", "detect_frac", "correct_frac"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}")
    kind_name = spec.get("kind", "ship_detect")
    try:
        kind = JobKind[str(kind_name).upper()]
    except KeyError:
        raise ConfigError(
            f"{path}.kind: {kind_name!r} is not one of {', '.join(k.name.lower() for k in JobKind)}"
        ) from None
    prio = spec.get("priority", 3)
    if isinstance(prio, bool) or not isinstance(prio, int) or not 0 <= prio <= 7:
        raise ConfigError(f"{path}.priority: must be an integer 0..7")
    det = _real(spec.get("detect_frac", 0.0), f"{path}.detect_frac", 0.0, 1.0)
    cor = _real(spec.get("correct_frac", 0.0), f"{path}.correct_frac", 0.0, 1.0)
    if det + cor > 1.0:
        raise ConfigError(f"{path}: detect_frac + correct_frac > 1")
    return JobClass(
        name,
        kind,
        _real(spec.get("weight", 1.0), f"{path}.weight", lo=0.0),
        _pair(spec.get("tiles", [1, 4]), f"{path}.tiles", True),
        _pair(spec.get("deadline_s", [60.0, 600.0]), f"{path}.deadline_s", False),
        prio,
        det,
        cor,
    )


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
