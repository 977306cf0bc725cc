"""Installation of the executor into a node (the composition root calls :func:`install`).

``[compute]`` keys read here (the rest configure :class:`ExecutorConfig`):
``component_id`` (40), ``rate_hz`` (the executive's base rate, at most 10 Hz),
``accelerator`` (device name, "accel"), ``storage`` (device name, "nv") and the
``[compute.workload]`` table (:class:`WorkloadConfig`; absent: no generated workload).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flight.compute._executor import ComputeExecutor, ExecutorConfig
from flight.compute._workload import WorkloadConfig, WorkloadGenerator
from hal.accelerator import Accelerator
from hal.imager import Imager
from hal.platform import Storage
from hal.registry import get_device
from native.errors import ConfigError, DeviceUnavailableError

__all__ = ["INSTALL_KEYS", "ComputeApp", "install"]

#: Keys of ``[compute]`` that belong to the installer rather than to ExecutorConfig.
INSTALL_KEYS = frozenset(
    {"component_id", "rate_hz", "accelerator", "storage", "imager", "workload", "weights_region"}
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


def _device(node: Any, name: Any, interface: type, key: str) -> Any:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"compute.{key}: must be a device name")
    try:
        return get_device(node.backend, name, interface)
    except DeviceUnavailableError as exc:
        raise ConfigError(
            f"compute.{key}: {exc} (add a [devices.{name}] table with "
            f'family = "{interface.__name__.lower()}")'
        ) from exc


def install(node: Any, section: Mapping[str, Any]) -> ComputeApp:
    """Create the executor from ``[compute]``, add it to ``node.executive`` and wire its TM
    reports to ``node.tmtc``. ConfigError names any bad key or missing device."""
    if not isinstance(section, Mapping):
        raise ConfigError("[compute] must be a table")
    if node.backend is None:
        raise ConfigError("[compute] needs a HAL backend ([hal] section) with an accelerator")
    cfg = ExecutorConfig.from_section(section, int(node.seed), set(INSTALL_KEYS))
    acc = _device(node, section.get("accelerator", "accel"), Accelerator, "accelerator")
    nv = _device(node, section.get("storage", "nv"), Storage, "storage")
    imager = _device(node, section.get("imager", "imager"), Imager, "imager")
    generator = None
    if "workload" in section:
        wcfg = WorkloadConfig.from_section(section["workload"])
        if wcfg.enabled:
            generator = WorkloadGenerator(wcfg, int(node.seed))
    cid = section.get("component_id", 40)
    if isinstance(cid, bool) or not isinstance(cid, int) or not 1 <= cid <= 255:
        raise ConfigError(f"compute.component_id: must be an integer 1..255, got {cid!r}")
    base = float(node.executive.base_hz)
    rate = section.get("rate_hz", min(10.0, base))
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
        raise ConfigError(f"compute.rate_hz: must be > 0, got {rate!r}")
    tmtc = getattr(node, "tmtc", None)
    region = None
    region_name = section.get("weights_region")
    if region_name is not None:
        edac = getattr(node, "apps", {}).get("edac")
        if edac is None:
            raise ConfigError("compute.weights_region: needs the [edac] application")
        try:
            region = edac.region(region_name)
        except KeyError:
            raise ConfigError(f"compute.weights_region: no EDAC region {region_name!r}") from None
    executor = ComputeExecutor(
        acc,
        nv,
        imager,
        cfg,
        component_id=cid,
        send_tm=tmtc.send_tm if tmtc is not None else None,
        generator=generator,
        weights_region=region,
    )
    node.executive.add(executor, float(rate))
    return ComputeApp(executor, generator)
