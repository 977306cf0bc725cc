"""Radiation protection: SECDED-protected memory regions of real flight data, the scrubber,
TMR state, redundant execution and PUS-6 memory management.

EDAC owns no data: the code that owns data creates its protected region through the
``"edac.regions"`` service (:class:`EdacRegions`); :func:`protect_core` does that for the
core's parameter image and TM downlink buffer. Modules:

- :mod:`flight.edac._region`: :class:`ProtectedRegion` (verify-and-correct reads, re-encoding
  writes, BAD state, page reload from a CRC-32C-checked golden copy);
- :mod:`flight.edac._store`: golden image format and :class:`MemoryBlobStore` (tests only:
  the node keeps golden copies on its ``[edac] storage_device``);
- :mod:`flight.edac._scrubber`: the :class:`Scrubber` component and its period plan;
- :mod:`flight.edac._period`: the scrub-period formula, orbit rates, Wilson intervals;
- :mod:`flight.edac._tmr_state`: :class:`TmrValue`, :class:`TmrArray`, :class:`TmrState`;
- :mod:`flight.edac._redundant`: :class:`RedundantExecutor` (duplex compare, triplex vote);
- :mod:`flight.edac._memory_service`: PUS service 6 (:class:`MemoryService`);
- :mod:`flight.edac._service`: the region service :class:`EdacRegions`;
- :mod:`flight.edac._protect`: :func:`protect_core`;
- :mod:`flight.edac._app`: the ``[edac]`` configuration (:class:`Config`), :class:`EdacApp`
  and :func:`build_edac` (EDAC without a node).

:func:`install` is the node's entry point (``[edac]`` section present).
"""

from __future__ import annotations

from flight.core import InstallContext
from flight.edac._app import Config, EdacApp, build_edac, parse_config
from flight.edac._memory_service import MAX_AREAS, MemoryService
from flight.edac._period import (
    BITS_PER_WORD,
    DAYS_PER_YEAR,
    S_PER_DAY,
    mbu_rate_per_day,
    required_scrub_period_s,
    triple_upset_rate_per_day,
    uncorrectable_rate_per_day,
    wilson_interval,
)
from flight.edac._protect import protect_core
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
from flight.edac._service import MAX_REGION_BYTES, REGION_IDS, EdacRegions, RegionNotFoundError
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
    "DAYS_PER_YEAR",
    "DEFAULT_PAGE_BYTES",
    "MAX_AREAS",
    "MAX_REGION_BYTES",
    "MAX_REGION_SLOTS",
    "REGION_IDS",
    "SERVICE_NAME",
    "S_PER_DAY",
    "BlobStore",
    "Config",
    "EdacApp",
    "EdacRegions",
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
    "RegionNotFoundError",
    "RegionState",
    "ScrubConfig",
    "ScrubOutcome",
    "ScrubPlan",
    "Scrubber",
    "TmrArray",
    "TmrState",
    "TmrValue",
    "build_edac",
    "install",
    "mbu_rate_per_day",
    "pack_golden",
    "parse_config",
    "plan_scrub",
    "protect_core",
    "required_scrub_period_s",
    "result_bytes",
    "triple_upset_rate_per_day",
    "uncorrectable_rate_per_day",
    "unpack_golden",
    "wilson_interval",
]

#: The name under which EDAC provides its :class:`EdacRegions` to other applications.
SERVICE_NAME = "edac.regions"


def install(ctx: InstallContext, cfg: Config) -> EdacApp:
    """Install EDAC: the scrubber (component ``edac``), PUS-6 and the ``"edac.regions"``
    service.

    Golden copies go to the HAL storage device ``[edac] storage_device`` (required: a node
    without one is a ConfigError, never a silent fallback to RAM). The backend's memory
    registration capability (:class:`hal.registry.MemoryRegistration`), when present,
    exposes every region to the radiation model; the SAA indicator is the latest
    :class:`flight.messages.RadiationEnvironment` on the bus.
    """
    from flight.messages import RadiationEnvironment
    from hal.platform import Storage
    from hal.registry import MemoryRegistration

    if cfg.storage_device is None:
        raise ConfigError(
            "[edac] storage_device: golden copies need a non-volatile storage device; name "
            'one (a [devices.<name>] table with family = "storage")'
        )
    store = ctx.device("storage_device", cfg.storage_device, Storage)
    memory = ctx.capability(MemoryRegistration)
    app = EdacApp(
        cfg,
        store,
        store_label=f"storage device {cfg.storage_device!r}",
        component_id=ctx.component_id("edac"),
        register_memory=memory.register_memory if memory is not None else None,
        saa_topic=RadiationEnvironment,
        # a dump report (TM[6,6]) must fit one TM packet: refused at acceptance otherwise
        max_dump_octets=ctx.max_tm_data_len or None,
    )
    ctx.add(app.scrubber, cfg.rate_hz)
    if ctx.send_tm is not None:
        ctx.register_service(6, app.memory_service)
    ctx.provide(SERVICE_NAME, app.regions)
    # The parameter table is complete only once every app has registered its parameters.
    ctx.after_install(lambda: protect_core(app.regions, ctx.params, ctx.tmtc, cfg))
    return app
