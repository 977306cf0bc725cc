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
    page_bytes = 4096                     # reload granularity (multiple of 8, >= 64)
    auto_reload = true                    # reload BAD regions from golden automatically
    max_check_bytes = 67108864            # bound of one PUS-6 check request
    params_bytes = 16384                  # region "params": the parameter table's image
    tm_buffer_bytes = 65536               # region "tm_buffer": the TM downlink ring

EDAC creates no region of its own: owners create theirs through the ``"edac.regions"``
service (:class:`~flight.edac.EdacRegions`), and :func:`protect_core` creates the core's
(``params``, ``tm_buffer``) from the sizes above.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flight.core import Executive, perf_counter_ns
from flight.edac._memory_service import MemoryService
from flight.edac._period import DAYS_PER_YEAR
from flight.edac._redundant import RedundantExecutor
from flight.edac._scrubber import Scrubber, ScrubConfig
from flight.edac._service import EdacRegions
from flight.edac._store import BlobStore
from flight.edac._tmr_state import TmrState
from native.errors import ConfigError

if TYPE_CHECKING:
    from flight.tmtc import TmtcService

__all__ = ["Config", "EdacApp", "build_edac", "parse_config"]

RegisterMemory = Callable[[str, np.ndarray[Any, Any]], Any]
#: Default target uncorrectable rate (per year) when neither target key is given.
DEFAULT_TARGET_PER_YEAR = 1e-3


@dataclass(frozen=True, slots=True)
class Config:
    """The validated ``[edac]`` section (see the module docstring; build with
    :func:`parse_config`). Sizes in octets, rates per bit per day, times in seconds."""

    storage_device: str | None = None
    upset_rate_per_bit_day: float = 4e-7
    saa_factor: float = 10.0
    target_uncorrectable_per_year: float | None = None
    target_uncorrectable_per_day: float | None = None
    period_margin: float = 0.5
    max_period_s: float = 60.0
    rate_hz: float = 1.0
    max_words_per_step: int = 1 << 20
    max_cpu_frac: float = 0.05
    page_bytes: int = 4096
    auto_reload: bool = True
    max_check_bytes: int = 64 << 20
    params_bytes: int = 16 << 10
    tm_buffer_bytes: int = 64 << 10

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


_KEYS = frozenset(f for f in Config.__dataclass_fields__)


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    integer: bool = False,
) -> Any:
    value: Any = table.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"[edac] {key} must be {kind}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"[edac] {key} must be finite, got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"[edac] {key} = {value!r} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"[edac] {key} = {value!r} must be <= {hi}")
    return int(value) if integer else float(value)


def _flag(table: Mapping[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"[edac] {key} must be true or false, got {value!r}")
    return value


def parse_config(table: Mapping[str, Any]) -> Config:
    """Validate the ``[edac]`` table (see the module docstring); ConfigError names the key."""
    if not isinstance(table, Mapping):
        raise ConfigError("[edac] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) in [edac]: {', '.join(unknown)}")
    per_year: float | None = None
    per_day: float | None = None
    if "target_uncorrectable_per_year" in table and "target_uncorrectable_per_day" in table:
        raise ConfigError(
            "[edac] give target_uncorrectable_per_year or target_uncorrectable_per_day, not both"
        )
    if "target_uncorrectable_per_day" in table:
        per_day = _number(table, "target_uncorrectable_per_day", 0, lo=0, lo_open=True)
    if "target_uncorrectable_per_year" in table:
        per_year = _number(table, "target_uncorrectable_per_year", 0, lo=0, lo_open=True)
    page_bytes = _number(table, "page_bytes", 4096, lo=64, hi=1 << 24, integer=True)
    if page_bytes % 8:
        raise ConfigError(f"[edac] page_bytes = {page_bytes} must be a multiple of 8")
    storage = table.get("storage_device")
    if storage is not None and (not isinstance(storage, str) or not storage):
        raise ConfigError(f"[edac] storage_device must be a device name, got {storage!r}")
    cfg = Config(
        storage_device=storage,
        upset_rate_per_bit_day=_number(
            table, "upset_rate_per_bit_day", 4e-7, lo=0, lo_open=True, hi=1.0
        ),
        saa_factor=_number(table, "saa_factor", 10.0, lo=1.0, hi=1e6),
        target_uncorrectable_per_year=per_year,
        target_uncorrectable_per_day=per_day,
        period_margin=_number(table, "period_margin", 0.5, lo=0, lo_open=True, hi=1.0),
        max_period_s=_number(table, "max_period_s", 60.0, lo=0, lo_open=True, hi=86_400.0),
        rate_hz=_number(table, "rate_hz", 1.0, lo=0, lo_open=True, hi=1000.0),
        max_words_per_step=_number(
            table, "max_words_per_step", 1 << 20, lo=1, hi=2**32 - 1, integer=True
        ),
        max_cpu_frac=_number(table, "max_cpu_frac", 0.05, lo=0, lo_open=True, hi=1.0),
        page_bytes=page_bytes,
        auto_reload=_flag(table, "auto_reload", True),
        max_check_bytes=_number(table, "max_check_bytes", 64 << 20, lo=1, hi=1 << 40, integer=True),
        params_bytes=_number(table, "params_bytes", 16 << 10, lo=64, hi=1 << 20, integer=True),
        tm_buffer_bytes=_number(
            table, "tm_buffer_bytes", 64 << 10, lo=64, hi=1 << 24, integer=True
        ),
    )
    try:
        cfg.scrub  # noqa: B018 - the scrub requirements' own checks (finite, ranges)
    except ValueError as exc:
        raise ConfigError(f"[edac] {exc}") from None
    return cfg


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
        timer: Callable[[], int] = perf_counter_ns,
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
    timer: Callable[[], int] = perf_counter_ns,
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
