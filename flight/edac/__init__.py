"""Radiation protection: SECDED-protected memory regions, the scrubber, TMR state, redundant
execution, PUS-6 memory management and the SEU fault-injection campaign.

Modules:

- :mod:`flight.edac._region`: :class:`ProtectedRegion` (verify-and-correct reads, re-encoding
  writes, BAD state, page reload from a CRC-32C-checked golden copy);
- :mod:`flight.edac._store`: golden image format and :class:`MemoryBlobStore`;
- :mod:`flight.edac._scrubber`: the :class:`Scrubber` component and its period plan;
- :mod:`flight.edac._period`: the scrub-period formula, orbit rates, Wilson intervals;
- :mod:`flight.edac._tmr_state`: :class:`TmrValue`, :class:`TmrArray`, :class:`TmrState`;
- :mod:`flight.edac._redundant`: :class:`RedundantExecutor` (duplex compare, triplex vote);
- :mod:`flight.edac._memory_service`: PUS service 6 (:class:`MemoryService`);
- :mod:`flight.edac._app`: the ``[edac]`` configuration and :class:`EdacApp`.

:func:`install` is the node's entry point (``[edac]`` section present).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flight.edac._app import (
    DEFAULT_REGIONS,
    REGION_KINDS,
    EdacApp,
    EdacConfig,
    RegionSpec,
    flight_image_bytes,
    make_content,
    parse_section,
)
from flight.edac._memory_service import MAX_AREAS, MemoryService
from flight.edac._period import (
    BITS_PER_WORD,
    mbu_rate_per_day,
    required_scrub_period_s,
    triple_upset_rate_per_day,
    uncorrectable_rate_per_day,
    wilson_interval,
)
from flight.edac._redundant import (
    RedundancyError,
    RedundancyOutcome,
    RedundantExecutor,
    RedundantResult,
    result_bytes,
)
from flight.edac._region import (
    DEFAULT_PAGE_BYTES,
    ProtectedRegion,
    RegionBadError,
    RegionEvent,
    RegionEventKind,
    RegionState,
    ScrubOutcome,
)
from flight.edac._scrubber import MAX_REGION_SLOTS, Scrubber, ScrubConfig, ScrubPlan, plan_scrub
from flight.edac._store import (
    BlobStore,
    GoldenCopyError,
    MemoryBlobStore,
    pack_golden,
    unpack_golden,
)
from flight.edac._tmr_state import TmrArray, TmrState, TmrValue
from native.errors import ConfigError

__all__ = [
    "BITS_PER_WORD",
    "DEFAULT_PAGE_BYTES",
    "DEFAULT_REGIONS",
    "MAX_AREAS",
    "MAX_REGION_SLOTS",
    "REGION_KINDS",
    "BlobStore",
    "EdacApp",
    "EdacConfig",
    "GoldenCopyError",
    "MemoryBlobStore",
    "MemoryService",
    "ProtectedRegion",
    "RedundancyError",
    "RedundancyOutcome",
    "RedundantExecutor",
    "RedundantResult",
    "RegionBadError",
    "RegionEvent",
    "RegionEventKind",
    "RegionSpec",
    "RegionState",
    "ScrubConfig",
    "ScrubOutcome",
    "ScrubPlan",
    "Scrubber",
    "TmrArray",
    "TmrState",
    "TmrValue",
    "flight_image_bytes",
    "install",
    "make_content",
    "mbu_rate_per_day",
    "pack_golden",
    "parse_section",
    "plan_scrub",
    "required_scrub_period_s",
    "result_bytes",
    "triple_upset_rate_per_day",
    "uncorrectable_rate_per_day",
    "unpack_golden",
    "wilson_interval",
]


def _find_store(node: Any, device: str | None) -> tuple[BlobStore, str]:
    """The golden-copy store: a HAL storage device if there is one, else RAM."""
    backend = getattr(node, "backend", None)
    devices: Mapping[str, Any] = getattr(backend, "devices", None) or {}
    if device is not None:
        dev = devices.get(device)
        if dev is None:
            raise ConfigError(f"[edac] storage_device {device!r}: no such device")
        if not (callable(getattr(dev, "write", None)) and callable(getattr(dev, "read", None))):
            raise ConfigError(f"[edac] storage_device {device!r} is not a storage device")
        return dev, f"storage device {device!r}"
    from hal.platform import Storage

    for name, dev in devices.items():
        if isinstance(dev, Storage):
            return dev, f"storage device {name!r}"
    return MemoryBlobStore(), "ram (no storage device; not non-volatile)"


def install(
    node: Any,
    section: Mapping[str, Any],
    *,
    register_memory: Callable[[str, Any], Any] | None = None,
    saa: Callable[[], bool] | None = None,
    saa_topic: type | None = None,
    saa_field: str = "in_saa",
    store: BlobStore | None = None,
) -> EdacApp:
    """Install EDAC on ``node`` from its ``[edac]`` table; returns the :class:`EdacApp`.

    Uses ``node.executive`` (the scrubber joins the ``rate_hz`` group), ``node.tmtc`` (PUS-6
    is registered), ``node.seed`` (region contents) and ``node.backend`` (golden copies go to
    its storage device; without one, to RAM). ``register_memory`` defaults to the backend's
    ``register_memory`` attribute when it has one (the radiation model's hook); ``saa`` /
    ``saa_topic`` give the SAA indicator (default: outside). ``ConfigError`` names any bad key.
    """
    config = parse_section(section)
    if store is not None:
        label = "given store"
    else:
        store, label = _find_store(node, config.storage_device)
    if saa is None and saa_topic is None:
        from flight.messages import RadiationEnvironment

        saa_topic = RadiationEnvironment  # published by flight.environment from GNSS
    if register_memory is None:
        hook = getattr(getattr(node, "backend", None), "register_memory", None)
        register_memory = hook if callable(hook) else None
    return EdacApp(
        node.executive,
        config,
        seed=int(getattr(node, "seed", 1)),
        store=store,
        store_label=label,
        tmtc=getattr(node, "tmtc", None),
        register_memory=register_memory,
        saa=saa,
        saa_topic=saa_topic,
        saa_field=saa_field,
    )
