"""The EDAC application: the ``[edac]`` configuration, composition and summary.

Configuration: the ``[edac]`` table (every key optional except ``storage_device``; unknown
keys and bad values raise :class:`~native.errors.ConfigError` naming the key)::

    [edac]
    storage_device = "nvm"                # HAL storage device for the golden copies (required:
                                          # there is no fallback to RAM)
    upset_rate_per_bit_day = 4e-7         # lambda outside the SAA (REFERENCE.md, Alsat-1)
    saa_factor = 10.0                     # lambda multiplier inside the SAA (>= 1)
    target_uncorrectable_per_year = 1e-3  # R (or target_uncorrectable_per_day, not both)
    period_margin = 0.5                   # aim at margin x the required period (0, 1]
    max_period_s = 60.0                   # never sweep slower than this
    rate_hz = 1.0                         # scrubber rate group (must divide the base rate)
    max_words_per_step = 1048576          # CPU budget per step (8 MiB at 64-bit words)
    max_cpu_frac = 0.05                   # step time / step period alarm threshold
    page_bytes = 4096                     # reload granularity (multiple of 8, >= 64; of 64
                                          # with interleave = 8)
    interleave = 8                        # bit interleaving: 8 words per group (adjacent-bit
                                          # upsets hit different words), or 1 (none)
    auto_reload = true                    # reload BAD regions from golden automatically
    max_check_bytes = 67108864            # bound of one PUS-6 check request
    params_bytes = 16384                  # region "params": the parameter table's image
    tm_buffer_bytes = 65536               # region "tm_buffer": the TM downlink ring

EDAC creates no region of its own: owners create theirs through the ``"edac.regions"``
service (:class:`~flight.edac.EdacRegions`), and :func:`protect_core` creates the core's
(``params``, ``tm_buffer``) from the sizes above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flight.core import Executive
from flight.edac._memory_service import MemoryService
from flight.edac._period import DAYS_PER_YEAR
from flight.edac._redundant import RedundantExecutor
from flight.edac._scrubber import MAX_REGION_SLOTS, Scrubber, ScrubConfig
from flight.edac._service import MAX_REGION_BYTES, EdacRegions
from flight.edac._store import BlobStore
from flight.edac._tmr_state import TmrState
from native import schema
from native.errors import ConfigError
from native.schema import setting

if TYPE_CHECKING:
    from flight.tmtc import TmtcService

__all__ = ["Config", "EdacApp", "build_edac", "parse_config"]

RegisterMemory = Callable[[str, np.ndarray[Any, Any]], Any]
#: Default target uncorrectable rate (per year) when neither target key is given.
DEFAULT_TARGET_PER_YEAR = 1e-3


#: Most octets EDAC protects: every region slot holding its largest region (8 x 1 GiB),
#: the bound of a flight computer's scrubbed memory.
MAX_PROTECTED_BYTES = MAX_REGION_SLOTS * MAX_REGION_BYTES
#: Upset rates above this (per bit per day) are a typo: a solar particle event's worst case
#: on unhardened SRAM is ~1e-4.
_MAX_UPSET_RATE = 1e-2


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[edac]`` section (a :mod:`native.schema` section; see the module docstring).
    Sizes in octets, upset rates per bit per day, times in seconds."""

    storage_device: str | None = setting(
        None,
        min_len=1,
        doc="HAL storage device of the golden copies (required at install: no RAM fallback)",
    )
    upset_rate_per_bit_day: float = setting(
        4e-7,
        lo=0,
        lo_open=True,
        hi=_MAX_UPSET_RATE,
        units="1/bit/day",
        doc="upset rate outside the SAA (REFERENCE.md, Alsat-1)",
    )
    saa_factor: float = setting(10.0, lo=1, hi=1000, doc="upset rate multiplier inside the SAA")
    target_uncorrectable_per_year: float | None = setting(
        None,
        lo=0,
        lo_open=True,
        hi=1000,
        units="1/year",
        doc=f"target uncorrectable words (absent: {DEFAULT_TARGET_PER_YEAR:g}/year)",
    )
    target_uncorrectable_per_day: float | None = setting(
        None,
        lo=0,
        lo_open=True,
        hi=1000 / DAYS_PER_YEAR,
        units="1/day",
        doc="the same target per day (not with target_uncorrectable_per_year)",
    )
    period_margin: float = setting(
        0.5, lo=0, lo_open=True, hi=1, doc="aim at this fraction of the required scrub period"
    )
    max_period_s: float = setting(
        60.0, lo=0, lo_open=True, hi=86400, units="s", doc="never sweep slower than this"
    )
    rate_hz: float = setting(
        1.0, lo=0, lo_open=True, hi=1000, units="Hz", doc="scrubber step rate (divides base)"
    )
    max_words_per_step: int = setting(
        1 << 20,
        lo=1,
        hi=MAX_PROTECTED_BYTES // 8,
        units="words",
        doc="CPU budget: 64-bit words scrubbed per step at most",
    )
    max_cpu_frac: float = setting(
        0.05, lo=0, lo_open=True, hi=1, doc="step time / step period alarm threshold"
    )
    page_bytes: int = setting(
        4096, lo=64, hi=1 << 24, units="octets", doc="reload granularity (a multiple of 8)"
    )
    interleave: int = setting(
        8,
        choices=(1, 8),
        units="words",
        doc="bit interleaving of the regions: 8 words per group (adjacent-bit upsets land in "
        "different SECDED words), or 1 (none)",
    )
    auto_reload: bool = setting(True, doc="reload BAD regions from their golden copy")
    max_check_bytes: int = setting(
        64 << 20,
        lo=1,
        hi=MAX_PROTECTED_BYTES,
        units="octets",
        doc="largest PUS-6 check request",
    )
    params_bytes: int = setting(
        16 << 10, lo=64, hi=1 << 20, units="octets", doc="region 'params': the parameter image"
    )
    tm_buffer_bytes: int = setting(
        64 << 10, lo=64, hi=1 << 24, units="octets", doc="region 'tm_buffer': the TM ring"
    )

    def validate(self) -> None:
        """One target key at most; whole 64-bit words per page."""
        if (
            self.target_uncorrectable_per_year is not None
            and self.target_uncorrectable_per_day is not None
        ):
            raise ConfigError(
                "target_uncorrectable_per_day: give target_uncorrectable_per_year or "
                "target_uncorrectable_per_day, not both"
            )
        if self.page_bytes % 8:
            raise ConfigError(f"page_bytes: {self.page_bytes} must be a multiple of 8")
        if self.page_bytes % (8 * self.interleave):
            raise ConfigError(
                f"page_bytes: {self.page_bytes} must be a multiple of {8 * self.interleave} "
                f"with interleave = {self.interleave} (pages of whole interleaved groups)"
            )

    @property
    def target_per_day(self) -> float:
        """Target uncorrectable words per day (from whichever target key was given)."""
        if self.target_uncorrectable_per_day is not None:
            return self.target_uncorrectable_per_day
        per_year = self.target_uncorrectable_per_year
        return (DEFAULT_TARGET_PER_YEAR if per_year is None else per_year) / DAYS_PER_YEAR

    @property
    def scrub(self) -> ScrubConfig:
        """The scrubber's requirements and budget."""
        return ScrubConfig(
            upset_rate_per_bit_day=self.upset_rate_per_bit_day,
            saa_factor=self.saa_factor,
            target_uncorrectable_per_day=self.target_per_day,
            period_margin=self.period_margin,
            max_period_s=self.max_period_s,
            max_words_per_step=self.max_words_per_step,
            max_cpu_frac=self.max_cpu_frac,
        )


def parse_config(table: Mapping[str, Any]) -> Config:
    """Check the ``[edac]`` table against :class:`Config` and build it.

    ConfigError (one line naming ``[edac] <key>``) on an unknown key, a wrong type, a
    non-finite or out-of-range value, both target keys, or a page that is not whole words.
    """
    return schema.parse(Config, table, "edac")


class EdacApp:
    """The scrubber, the region service, TMR state, redundant execution and PUS-6.

    ``store`` keeps the golden copies (``store_label`` says what it is, for the summary).
    ``register_memory(name, array)`` exposes every region's arrays and the TMR replicas to
    the radiation model. ``saa``/``saa_topic``/``saa_field``: the SAA indicator (see
    :class:`Scrubber`). ``max_dump_octets``: the largest PUS-6 dump report (application data
    octets of one TM packet; None: checked when the report is packed). The caller adds
    :attr:`scrubber` to its executive and registers :attr:`memory_service` as PUS service 6
    (:func:`build_edac` does both; the node's ``install`` does it through its context).
    """

    def __init__(
        self,
        config: Config,
        store: BlobStore,
        *,
        store_label: str,
        component_id: int,
        register_memory: RegisterMemory | None = None,
        saa: Callable[[], bool] | None = None,
        saa_topic: type | None = None,
        saa_field: str = "in_saa",
        max_dump_octets: int | None = None,
        timer: Callable[[], int] | None = None,
    ) -> None:
        if not isinstance(store, BlobStore):
            raise ConfigError(f"[edac] {type(store).__name__} cannot keep golden copies")
        self.config = config
        self.store = store
        self.store_label = store_label
        self.tmr = TmrState(register_memory)
        self.redundant = RedundantExecutor()
        self.scrubber = Scrubber(
            (),
            config.scrub,
            config.rate_hz,
            component_id=component_id,
            tmr=self.tmr,
            saa=saa,
            saa_topic=saa_topic,
            saa_field=saa_field,
            auto_reload=config.auto_reload,
            timer=timer,
        )
        #: the ``"edac.regions"`` service
        self.regions = EdacRegions(
            store,
            self.scrubber,
            page_bytes=config.page_bytes,
            register_memory=register_memory,
            tmr=self.tmr,
            interleave=config.interleave,
        )
        self.memory_service = MemoryService(
            self.regions.by_id, max_dump_octets, config.max_check_bytes
        )

    def region(self, name: str) -> Any:
        """The region called ``name`` (see :meth:`EdacRegions.region`)."""
        return self.regions.region(name)

    def sample(self) -> dict[str, float]:
        """Figures for the run's time series (the ground's recorder plots them)."""
        s = self.scrubber
        return {
            "corrected": float(s.corrected),
            "uncorrectable": float(s.uncorrectable),
            "in_saa": float(bool(s.hk.in_saa)),
        }

    def summary(self) -> dict[str, Any]:
        """The ``edac`` section of the node summary (JSON-serialisable).

        Keys: ``corrected``, ``uncorrectable``, ``regions_reloaded``, ``golden_failures``, the
        scrubber figures (``scrub_period_s`` achieved, ``scrub_period_required_s``,
        ``cpu_frac`` ...), ``protected_bytes``, ``golden_store``, ``regions`` (per-region
        counters), ``tmr``, ``redundant``, ``pus6``, ``param_image`` and ``downlink`` (None
        when the core is not protected), ``corrections_series`` ([t_s, cumulative] pairs).
        """
        s = self.scrubber
        regions = list(self.regions)
        series = [[t, n] for t, n in s.series]
        params = self.regions.param_store
        downlink = self.regions.downlink_buffer
        return {
            "corrected": s.corrected,
            "uncorrectable": s.uncorrectable,
            "regions_reloaded": s.regions_reloaded,
            "golden_failures": sum(r.golden_failures for r in regions),
            **s.summary(),
            "protected_bytes": sum(r.size_bytes for r in regions),
            "golden_store": self.store_label,
            "regions": {r.name: r.counters() for r in regions},
            "tmr": self.tmr.summary(),
            "redundant": self.redundant.summary(),
            "pus6": self.memory_service.summary(),
            "param_image": None
            if params is None
            else {
                "writes": params.image_writes,
                "restores": params.image_restores,
                "failures": params.image_failures,
            },
            "downlink": None if downlink is None else downlink.counters(),
            "corrections_series": series,
        }


def build_edac(
    executive: Executive,
    config: Config,
    store: BlobStore,
    *,
    tmtc: TmtcService | None = None,
    component_id: int = 60,
    store_label: str = "given store",
    register_memory: RegisterMemory | None = None,
    saa: Callable[[], bool] | None = None,
    saa_topic: type | None = None,
    timer: Callable[[], int] | None = None,
) -> EdacApp:
    """EDAC without a node (tests, ground tools): the scrubber joins ``executive`` at
    ``config.rate_hz`` and PUS-6 is registered on ``tmtc`` (if given) with its exact dump
    bound. ``store`` is used as given (a :class:`MemoryBlobStore` is fine here).
    ConfigError when the rate does not divide the executive's base rate."""
    max_dump = None
    if tmtc is not None:
        from flight.tmtc import TM_OVERHEAD_LEN

        max_dump = int(tmtc.max_packet_len) - TM_OVERHEAD_LEN - int(tmtc.time_code.length)
    app = EdacApp(
        config,
        store,
        store_label=store_label,
        component_id=component_id,
        register_memory=register_memory,
        saa=saa,
        saa_topic=saa_topic,
        max_dump_octets=max_dump,
        timer=timer,
    )
    try:
        executive.add(app.scrubber, config.rate_hz)
    except ConfigError as exc:
        raise ConfigError(f"[edac] {exc}") from None
    if tmtc is not None:
        tmtc.register_service(6, app.memory_service)
    return app
