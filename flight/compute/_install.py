"""Installation of the executor into a node (the composition root calls :func:`install`).

``[compute]`` keys read here (the rest configure :class:`ExecutorConfig`):
``rate_hz`` (the executive's base rate, at most 10 Hz),
``accelerator`` (device name, "accel"), ``storage`` (device name, "nv") and the
``[compute.workload]`` table (:class:`WorkloadConfig`; absent: no generated workload).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flight.compute._eo import detector_weights
from flight.compute._executor import ComputeExecutor, ExecutorConfig
from flight.compute._workload import WorkloadConfig, WorkloadGenerator
from flight.core import InstallContext
from flight.edac import EdacRegions
from hal.accelerator import Accelerator
from hal.imager import Imager
from hal.platform import Storage
from native.errors import ConfigError

__all__ = [
    "INSTALL_KEYS",
    "ComputeApp",
    "ComputeConfig",
    "install",
    "parse_config",
]

#: Keys of ``[compute]`` that belong to the installer rather than to ExecutorConfig.
INSTALL_KEYS = frozenset(
    {"rate_hz", "accelerator", "storage", "imager", "workload", "weights_region"}
)


class ComputeApp:
    """The installed compute application: the executor and its workload generator."""

    def __init__(self, executor: ComputeExecutor, generator: WorkloadGenerator | None) -> None:
        self.executor = executor
        self.generator = generator

    def sample(self) -> dict[str, float]:
        """Cumulative job counts for the run's time series (plotted by the node's recorder)."""
        hk = self.executor.hk
        return {
            name: float(getattr(hk, name))
            for name in ("jobs_submitted", "jobs_completed", "deadline_missed", "jobs_rejected")
            if hasattr(hk, name)
        }

    def summary(self) -> dict[str, Any]:
        """The ``compute`` section of summary.json (see :meth:`ComputeExecutor.summary`)."""
        out = self.executor.summary()
        out["workload_generated"] = self.generator.generated if self.generator else 0
        return out


@dataclass(frozen=True, slots=True)
class ComputeConfig:
    """The ``[compute]`` section: the executor's settings plus what the installer wires.

    ``rate_hz``: the executor's step rate (Hz; None: the executive's base rate, at most
    10 Hz). ``accelerator``, ``storage``, ``imager``: HAL device names. ``weights_region``:
    the EDAC-protected region holding the detector weights (None: unprotected copy).
    ``workload``: the generated Earth-observation workload (None: no generated jobs).
    ``seed_given``: the section set the executor's seed itself (else the run's seed is used).
    """

    executor: ExecutorConfig
    workload: WorkloadConfig | None
    rate_hz: float | None
    accelerator: str
    storage: str
    imager: str
    weights_region: str | None
    seed_given: bool


def _name(section: Mapping[str, Any], key: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"[compute] {key}: must be a device name, got {value!r}")
    return value


def parse_config(section: Any) -> ComputeConfig:
    """Build a :class:`ComputeConfig` from ``[compute]``; ConfigError names any bad key."""
    if not isinstance(section, Mapping):
        raise ConfigError("[compute] must be a table")
    executor = ExecutorConfig.from_section(section, 0, set(INSTALL_KEYS))
    workload = None
    if "workload" in section:
        wcfg = WorkloadConfig.from_section(section["workload"])
        workload = wcfg if wcfg.enabled else None
    rate = section.get("rate_hz")
    if rate is not None and (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 < rate <= 10.0
    ):
        raise ConfigError(f"[compute] rate_hz: must be a number in (0, 10] Hz, got {rate!r}")
    region = section.get("weights_region")
    if region is not None and (not isinstance(region, str) or not region):
        raise ConfigError(f"[compute] weights_region: must be a region name, got {region!r}")
    return ComputeConfig(
        executor=executor,
        workload=workload,
        rate_hz=None if rate is None else float(rate),
        accelerator=_name(section, "accelerator", "accel"),
        storage=_name(section, "storage", "nv"),
        imager=_name(section, "imager", "imager"),
        weights_region=region,
        seed_given="seed" in section,
    )


def install(ctx: InstallContext, cfg: ComputeConfig) -> ComputeApp:
    """Create the executor (component ``compute``), add it at its rate and wire its TM
    reports; the detector weights come from the ``edac.regions`` service when configured."""
    acc = ctx.device("accelerator", cfg.accelerator, Accelerator)
    nv = ctx.device("storage", cfg.storage, Storage)
    imager = ctx.device("imager", cfg.imager, Imager)
    executor_cfg = cfg.executor if cfg.seed_given else replace(cfg.executor, seed=ctx.seed)
    generator = WorkloadGenerator(cfg.workload, ctx.seed) if cfg.workload is not None else None
    region = None
    if cfg.weights_region is not None:
        # The detector weights live in a region compute owns, created through EDAC's service:
        # read-only to the ground, scrubbed, with a golden copy in NV storage.
        regions = ctx.require("edac.regions", EdacRegions)
        nbytes = sum(a.nbytes for a in detector_weights().arrays())
        region = regions.create(cfg.weights_region, nbytes, writable=False)
    executor = ComputeExecutor(
        acc,
        nv,
        imager,
        executor_cfg,
        component_id=ctx.component_id("compute"),
        send_tm=ctx.send_tm,
        generator=generator,
        weights_region=region,
    )
    ctx.add(executor, cfg.rate_hz if cfg.rate_hz is not None else min(10.0, ctx.base_hz))
    return ComputeApp(executor, generator)
