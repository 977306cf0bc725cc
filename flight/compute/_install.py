"""The ``[compute]`` section and the installation of the executor into a node (the
composition root calls :func:`install`).

:class:`ComputeConfig` is one :mod:`native.schema` section: the executor's keys
(:class:`ExecutorConfig`) sit directly in ``[compute]`` next to the installer's
(:data:`INSTALL_KEYS`: ``rate_hz``, at most 10 Hz, absent: the base rate; the device names
``accelerator``, ``storage``, ``imager``; ``weights_region``) and the ``[compute.workload]``
table (absent: no generated workload).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from flight.compute._eo import detector_weights
from flight.compute._executor import ComputeExecutor, ExecutorConfig
from flight.compute._offload import OffloadConfig, OffloadManager
from flight.compute._workload import WorkloadConfig, WorkloadGenerator, WorkloadSection
from flight.core import InstallContext
from flight.edac import EdacRegions
from flight.isl import IslNetwork
from hal.accelerator import Accelerator
from hal.imager import Imager
from hal.platform import Storage
from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = [
    "INSTALL_KEYS",
    "ComputeApp",
    "ComputeConfig",
    "install",
    "parse_config",
]

#: Highest executor step rate (Hz): a step is a scheduling decision, not a control loop.
_MAX_RATE_HZ = 10.0


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
class ComputeConfig(ExecutorConfig):
    """The ``[compute]`` section (a :mod:`native.schema` section): the executor's keys
    (inherited from :class:`ExecutorConfig`, written directly in ``[compute]``), the keys the
    installer wires, and the ``[compute.workload]`` table.

    Build it with :func:`parse_config`; :attr:`executor` is the executor's own configuration
    and :attr:`workload_config` the generator's.
    """

    seed: int = setting(
        0, lo=0, hi=2**63 - 1, doc="scene generation seed (0: the run's [node] seed)"
    )
    rate_hz: float | None = setting(
        None,
        lo=0,
        lo_open=True,
        hi=_MAX_RATE_HZ,
        units="Hz",
        doc=f"executor step rate (absent: the base rate, at most {_MAX_RATE_HZ:g} Hz)",
    )
    accelerator: str = setting("accel", min_len=1, doc="HAL accelerator device")
    storage: str = setting("nv", min_len=1, doc="HAL storage device of results and checkpoints")
    imager: str = setting("imager", min_len=1, doc="HAL imager device")
    weights_region: str | None = setting(
        None,
        min_len=1,
        max_len=64,
        doc="EDAC-protected region created for the detector weights (absent: unprotected)",
    )
    offload: bool = setting(
        False, doc="offer jobs to neighbours over [isl] (needs the isl.network service)"
    )
    offload_status_s: float = setting(
        30.0, lo=1, hi=3600, units="s", doc="period of the status bundle to neighbours"
    )
    offload_hops: int = setting(2, lo=1, hi=8, doc="farthest neighbour a job goes to (hops)")
    offload_margin: float = setting(
        0.8, lo=0, lo_open=True, hi=1, doc="a site must finish within this of the time left"
    )
    offload_retries: int = setting(1, lo=0, hi=10, doc="other neighbours tried on a refusal")
    offload_relay_stale_periods: float = setting(
        10.0,
        lo=1,
        hi=1000,
        doc="a status relayed from 2+ hops away is stale after this many status periods",
    )
    offload_late_factor: float = setting(
        1.5,
        lo=0,
        hi=100,
        doc="a remote result is late after this times its estimated round trip: the job "
        "then runs here if that still meets its deadline (0: never)",
    )
    workload: WorkloadSection | None = setting(
        None, doc="[compute.workload]: the generated Earth-observation jobs (absent: none)"
    )

    @property
    def seed_given(self) -> bool:
        """The section sets the scene seed itself (else the run's seed is used)."""
        return self.seed != 0

    @property
    def executor(self) -> ExecutorConfig:
        """The executor's configuration (the scene seed as configured: see :attr:`seed_given`)."""
        return ExecutorConfig(**{f.name: getattr(self, f.name) for f in fields(ExecutorConfig)})

    @property
    def workload_config(self) -> WorkloadConfig | None:
        """The workload generator's configuration (None: absent or ``enabled = false``)."""
        if self.workload is None or not self.workload.enabled:
            return None
        return self.workload.to_config()


#: Keys of ``[compute]`` that belong to the installer rather than to :class:`ExecutorConfig`.
INSTALL_KEYS = frozenset(f.name for f in fields(ComputeConfig)) - frozenset(
    f.name for f in fields(ExecutorConfig)
)


def parse_config(section: Mapping[str, Any]) -> ComputeConfig:
    """Check the ``[compute]`` table (``[compute.workload]`` included) against
    :class:`ComputeConfig` and build it; ConfigError (one line naming the key) otherwise."""
    return schema.parse(ComputeConfig, section, "compute")


def install(ctx: InstallContext, cfg: ComputeConfig) -> ComputeApp:
    """Create the executor (component ``compute``), add it at its rate and wire its TM
    reports; the detector weights come from the ``edac.regions`` service when configured."""
    acc = ctx.device("accelerator", cfg.accelerator, Accelerator)
    nv = ctx.device("storage", cfg.storage, Storage)
    imager = ctx.device("imager", cfg.imager, Imager)
    executor_cfg = cfg.executor if cfg.seed_given else replace(cfg.executor, seed=ctx.seed)
    workload = cfg.workload_config
    generator = WorkloadGenerator(workload, ctx.seed) if workload is not None else None
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
    if cfg.offload:
        # Offload needs the link manager's bundle network; without [isl] it is a config error
        network = ctx.optional("isl.network", IslNetwork)
        if network is None:
            raise ConfigError("[compute] offload = true needs the [isl] application")
        executor.offload = OffloadManager(
            executor,
            network,
            OffloadConfig(
                status_period_s=cfg.offload_status_s,
                max_hops=cfg.offload_hops,
                retries=cfg.offload_retries,
                margin=cfg.offload_margin,
                late_factor=cfg.offload_late_factor,
                relay_stale_periods=cfg.offload_relay_stale_periods,
            ),
        )
    ctx.add(executor, cfg.rate_hz if cfg.rate_hz is not None else min(10.0, ctx.base_hz))
    return ComputeApp(executor, generator)
