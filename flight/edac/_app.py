"""The EDAC application: configuration, region contents, composition, summary.

Configuration: the ``[edac]`` table (every key optional; unknown keys and bad values raise
:class:`~native.errors.ConfigError` naming the key)::

    [edac]
    upset_rate_per_bit_day = 4e-7         # lambda outside the SAA (REFERENCE.md, Alsat-1)
    saa_factor = 10.0                     # lambda multiplier inside the SAA (>= 1)
    target_uncorrectable_per_year = 1e-3  # R (or target_uncorrectable_per_day, not both)
    period_margin = 0.5                   # aim at margin x the required period (0, 1]
    max_period_s = 60.0                   # never sweep slower than this
    rate_hz = 1.0                         # scrubber rate group (must divide the base rate)
    max_words_per_step = 1048576          # CPU budget per step (8 MiB at 64-bit words)
    max_cpu_frac = 0.05                   # step time / step period alarm threshold
    page_bytes = 4096                     # reload granularity (multiple of 8, >= 64)
    component_id = 60                     # scrubber component id (1..255)
    auto_reload = true                    # reload BAD regions from golden automatically
    tmr = true                            # create the default TMR state containers
    storage_device = "storage"            # HAL storage device for golden copies
                                          # (default: the first storage device, else RAM)
    max_check_bytes = 67108864            # bound of one PUS-6 check request
    regions = [                           # at most 8, ids 1..8 (default: the four below)
      { name = "weights", kind = "weights", size_bytes = 4194304 },
      { name = "params", kind = "params", size_bytes = 16384 },
      { name = "code", kind = "code" },   # size_bytes optional: the flight image's size
      { name = "tm_buffer", kind = "buffer", size_bytes = 65536 },
    ]

Region kinds and their content (deterministic from the node seed):

* ``weights``: float32 model weights, N(0, 0.02), read-only (replace with ``load``);
* ``params``: a parameter table of 24-byte records (id u32, flags u32, value f64, min f32,
  max f32, little-endian), writable;
* ``code``: the flight image's code bytes (the ``flight`` package's sources, sorted by path,
  repeated or truncated to ``size_bytes``), read-only;
* ``buffer``: a zero-filled telemetry buffer, writable.

A region table may also set ``id`` (1..8, default its position + 1) and ``writable``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flight.core import Executive, perf_counter_ns
from flight.edac._memory_service import MemoryService
from flight.edac._period import DAYS_PER_YEAR
from flight.edac._redundant import RedundantExecutor
from flight.edac._region import ProtectedRegion
from flight.edac._scrubber import MAX_REGION_SLOTS, Scrubber, ScrubConfig
from flight.edac._store import BlobStore, MemoryBlobStore
from flight.edac._tmr_state import TmrState
from native.errors import ConfigError

__all__ = [
    "DEFAULT_REGIONS",
    "REGION_KINDS",
    "EdacApp",
    "EdacConfig",
    "RegionSpec",
    "flight_image_bytes",
    "make_content",
    "parse_section",
]

#: Region kinds: default writability.
REGION_KINDS: dict[str, bool] = {"weights": False, "params": True, "code": False, "buffer": True}
#: Regions of a node whose ``[edac]`` table names none.
DEFAULT_REGIONS: tuple[dict[str, Any], ...] = (
    {"name": "weights", "kind": "weights", "size_bytes": 4 << 20},
    {"name": "params", "kind": "params", "size_bytes": 16 << 10},
    {"name": "code", "kind": "code"},
    {"name": "tm_buffer", "kind": "buffer", "size_bytes": 64 << 10},
)
MAX_REGION_BYTES = 1 << 30
_SECTION_KEYS = frozenset(
    {
        "regions",
        "upset_rate_per_bit_day",
        "saa_factor",
        "target_uncorrectable_per_year",
        "target_uncorrectable_per_day",
        "period_margin",
        "max_period_s",
        "rate_hz",
        "max_words_per_step",
        "max_cpu_frac",
        "page_bytes",
        "component_id",
        "auto_reload",
        "tmr",
        "storage_device",
        "max_check_bytes",
    }
)
_REGION_KEYS = frozenset({"name", "kind", "size_bytes", "id", "writable"})
RegisterMemory = Callable[[str, np.ndarray[Any, Any]], Any]


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """One configured region (``size_bytes`` None: the content's natural size)."""

    name: str
    kind: str
    size_bytes: int | None
    region_id: int
    writable: bool


@dataclass(frozen=True, slots=True)
class EdacConfig:
    """The validated ``[edac]`` section."""

    scrub: ScrubConfig
    regions: tuple[RegionSpec, ...]
    rate_hz: float = 1.0
    page_bytes: int = 4096
    component_id: int = 60
    auto_reload: bool = True
    tmr: bool = True
    storage_device: str | None = None
    max_check_bytes: int = 64 << 20


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    *,
    where: str = "[edac]",
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
        raise ConfigError(f"{where} {key} must be {kind}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where} {key} must be finite, got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"{where} {key} = {value!r} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{where} {key} = {value!r} must be <= {hi}")
    return int(value) if integer else float(value)


def _flag(table: Mapping[str, Any], key: str, default: bool, where: str = "[edac]") -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} must be true or false, got {value!r}")
    return value


def _regions(raw: Any) -> tuple[RegionSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("[edac] regions must be a non-empty array of tables")
    if len(raw) > MAX_REGION_SLOTS:
        raise ConfigError(f"[edac] regions: at most {MAX_REGION_SLOTS} regions, got {len(raw)}")
    specs: list[RegionSpec] = []
    for i, table in enumerate(raw):
        where = f"[edac] regions[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(table) - _REGION_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        name = table.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{where} name must be an identifier, got {name!r}")
        kind = table.get("kind")
        if kind not in REGION_KINDS:
            raise ConfigError(
                f"{where} kind must be one of {', '.join(REGION_KINDS)}, got {kind!r}"
            )
        size: int | None
        if "size_bytes" in table or kind != "code":
            if "size_bytes" not in table:
                raise ConfigError(f"{where} size_bytes is required for kind {kind!r}")
            size = _number(
                table, "size_bytes", 0, where=where, lo=1, hi=MAX_REGION_BYTES, integer=True
            )
        else:
            size = None
        rid = _number(table, "id", i + 1, where=where, lo=1, hi=MAX_REGION_SLOTS, integer=True)
        writable = _flag(table, "writable", REGION_KINDS[kind], where)
        specs.append(RegionSpec(name, kind, size, rid, writable))
    for attr in ("name", "region_id"):
        values = [getattr(s, attr) for s in specs]
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            label = "id" if attr == "region_id" else attr
            raise ConfigError(f"[edac] regions: duplicate {label} {dup[0]!r}")
    return tuple(specs)


def parse_section(section: Mapping[str, Any]) -> EdacConfig:
    """Validate the ``[edac]`` table (see the module docstring); ConfigError names the key."""
    if not isinstance(section, Mapping):
        raise ConfigError("[edac] must be a table")
    unknown = sorted(set(section) - _SECTION_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) in [edac]: {', '.join(unknown)}")
    if "target_uncorrectable_per_year" in section and "target_uncorrectable_per_day" in section:
        raise ConfigError(
            "[edac] give target_uncorrectable_per_year or target_uncorrectable_per_day, not both"
        )
    if "target_uncorrectable_per_day" in section:
        per_day = _number(section, "target_uncorrectable_per_day", 0, lo=0, lo_open=True)
    else:
        per_day = (
            _number(section, "target_uncorrectable_per_year", 1e-3, lo=0, lo_open=True)
            / DAYS_PER_YEAR
        )
    scrub = ScrubConfig(
        upset_rate_per_bit_day=_number(
            section, "upset_rate_per_bit_day", 4e-7, lo=0, lo_open=True, hi=1.0
        ),
        saa_factor=_number(section, "saa_factor", 10.0, lo=1.0, hi=1e6),
        target_uncorrectable_per_day=per_day,
        period_margin=_number(section, "period_margin", 0.5, lo=0, lo_open=True, hi=1.0),
        max_period_s=_number(section, "max_period_s", 60.0, lo=0, lo_open=True),
        max_words_per_step=_number(
            section, "max_words_per_step", 1 << 20, lo=1, hi=2**32 - 1, integer=True
        ),
        max_cpu_frac=_number(section, "max_cpu_frac", 0.05, lo=0, lo_open=True, hi=1.0),
    )
    page_bytes = _number(section, "page_bytes", 4096, lo=64, hi=1 << 24, integer=True)
    if page_bytes % 8:
        raise ConfigError(f"[edac] page_bytes = {page_bytes} must be a multiple of 8")
    storage = section.get("storage_device")
    if storage is not None and (not isinstance(storage, str) or not storage):
        raise ConfigError(f"[edac] storage_device must be a device name, got {storage!r}")
    return EdacConfig(
        scrub=scrub,
        regions=_regions(section.get("regions", [dict(r) for r in DEFAULT_REGIONS])),
        rate_hz=_number(section, "rate_hz", 1.0, lo=0, lo_open=True),
        page_bytes=page_bytes,
        component_id=_number(section, "component_id", 60, lo=1, hi=255, integer=True),
        auto_reload=_flag(section, "auto_reload", True),
        tmr=_flag(section, "tmr", True),
        storage_device=storage,
        max_check_bytes=_number(section, "max_check_bytes", 64 << 20, lo=1, integer=True),
    )


# -- contents ------------------------------------------------------------------------------


def flight_image_bytes() -> bytes:
    """The flight image's code bytes: the ``flight`` package's sources, sorted by path."""
    root = Path(__file__).resolve().parents[1]
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*.py")))


_PARAM_RECORD = np.dtype(
    [("id", "<u4"), ("flags", "<u4"), ("value", "<f8"), ("min", "<f4"), ("max", "<f4")]
)


def make_content(kind: str, size_bytes: int | None, seed: int, region_id: int) -> bytes:
    """Deterministic realistic content of a region (see the module docstring)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, region_id, 0xEDAC])
    if kind == "code":
        image = np.frombuffer(flight_image_bytes(), dtype=np.uint8)
        return np.resize(image, size_bytes if size_bytes is not None else image.size).tobytes()
    if size_bytes is None:
        raise ValueError(f"kind {kind!r} needs a size")
    if kind == "weights":
        weights = rng.normal(0.0, 0.02, math.ceil(size_bytes / 4)).astype("<f4")
        return weights.tobytes()[:size_bytes]
    if kind == "params":
        n = math.ceil(size_bytes / _PARAM_RECORD.itemsize)
        table = np.zeros(n, dtype=_PARAM_RECORD)
        table["id"] = np.arange(1, n + 1)
        table["flags"] = rng.integers(0, 4, n)
        table["min"] = -rng.integers(1, 100, n)
        table["max"] = rng.integers(1, 100, n)
        table["value"] = rng.uniform(table["min"], table["max"])
        return table.tobytes()[:size_bytes]
    if kind == "buffer":
        return bytes(size_bytes)
    raise ValueError(f"unknown region kind {kind!r}")


# -- the application -----------------------------------------------------------------------


class EdacApp:
    """Protected regions, their scrubber, TMR state, redundant execution and PUS-6.

    ``store`` keeps the golden copies (``store_label`` says what it is, for the summary).
    ``tmtc``: the node's TM/TC endpoint, which gets PUS service 6 (None: not registered).
    ``register_memory(name, array)`` exposes every region's ``data``/``checks`` arrays
    (``edac.<region>.data``, ``edac.<region>.checks``) and the TMR replicas to the radiation
    model. ``saa``/``saa_topic``/``saa_field``: the SAA indicator (see :class:`Scrubber`).
    """

    def __init__(
        self,
        executive: Executive,
        config: EdacConfig,
        *,
        seed: int = 1,
        store: BlobStore | None = None,
        store_label: str = "ram",
        tmtc: Any = None,
        register_memory: RegisterMemory | None = None,
        saa: Callable[[], bool] | None = None,
        saa_topic: type | None = None,
        saa_field: str = "in_saa",
        timer: Callable[[], int] = perf_counter_ns,
        contents: Mapping[str, bytes] | None = None,
    ) -> None:
        self.executive = executive
        self.config = config
        self.store: BlobStore = store if store is not None else MemoryBlobStore()
        self.store_label = store_label
        self.regions: dict[str, ProtectedRegion] = {}
        for spec in config.regions:
            content = (contents or {}).get(spec.name)
            if content is None:
                content = make_content(spec.kind, spec.size_bytes, seed, spec.region_id)
            region = ProtectedRegion(
                spec.name,
                spec.region_id,
                content,
                kind=spec.kind,
                store=self.store,
                page_bytes=config.page_bytes,
                writable=spec.writable,
            )
            self.regions[spec.name] = region
            if register_memory is not None:
                register_memory(f"edac.{spec.name}.data", region.data)
                register_memory(f"edac.{spec.name}.checks", region.checks)
        self.tmr = TmrState(register_memory)
        if config.tmr:
            rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x7312])
            self.tmr.value("mode", "<B", 0)
            self.tmr.value("boot_count", "<I", 0)
            self.tmr.array("orbit_state", np.float64, 6)
            self.tmr.array("keys", np.uint8, 32, rng.integers(0, 256, 32, dtype=np.uint8))
        self.redundant = RedundantExecutor()
        self.scrubber = Scrubber(
            list(self.regions.values()),
            config.scrub,
            config.rate_hz,
            component_id=config.component_id,
            tmr=self.tmr,
            saa=saa,
            saa_topic=saa_topic,
            saa_field=saa_field,
            auto_reload=config.auto_reload,
            timer=timer,
        )
        try:
            executive.add(self.scrubber, config.rate_hz)
        except ConfigError as exc:
            raise ConfigError(f"[edac] {exc}") from None
        self.memory_service: MemoryService | None = None
        if tmtc is not None:
            from flight.tmtc import TM_OVERHEAD_LEN

            max_dump = int(tmtc.max_packet_len) - TM_OVERHEAD_LEN - int(tmtc.time_code.length)
            self.memory_service = MemoryService(
                {r.region_id: r for r in self.regions.values()}, max_dump, config.max_check_bytes
            )
            tmtc.register_service(6, self.memory_service)

    def region(self, name: str) -> ProtectedRegion:
        """The region called ``name`` (``KeyError`` if none)."""
        return self.regions[name]

    def region_by_id(self, region_id: int) -> ProtectedRegion:
        """The region with this id / PUS-6 memory id (``KeyError`` if none)."""
        for r in self.regions.values():
            if r.region_id == region_id:
                return r
        raise KeyError(region_id)

    def sample(self) -> dict[str, float]:
        """Figures for the run's time series (the node's recorder plots them)."""
        s = self.scrubber
        return {
            "corrected": float(s.corrected),
            "uncorrectable": float(s.uncorrectable),
            "in_saa": float(bool(s.hk.in_saa)),
        }

    def summary(self) -> dict[str, Any]:
        """The ``edac`` section of the node summary (JSON-serialisable).

        Keys: ``corrected``, ``uncorrectable``, ``regions_reloaded``, ``golden_failures``,
        ``scrub_period_s`` (achieved), ``scrub_period_required_s``, ``cpu_frac`` (scrubber's own
        timer) and ``cpu_frac_executive`` (executive statistics), the scrubber figures,
        ``regions`` (per-region counters), ``tmr``, ``redundant``, ``pus6``,
        ``corrections_series`` ([t_s, cumulative corrected] pairs), ``golden_store``,
        ``protected_bytes``.
        """
        s = self.scrubber
        st = self.executive.stats.get(s.name)
        cpu_exec = 0.0
        if st is not None and st.steps:
            cpu_exec = st.total_ns / (st.steps * s.step_ns)
        series = [[t, n] for t, n in s.series]
        now_s = self.executive.clock.now_ns() / 1e9
        if not series or series[-1][0] < now_s:
            series.append([now_s, s.corrected])
        out: dict[str, Any] = {
            "corrected": s.corrected,
            "uncorrectable": s.uncorrectable,
            "regions_reloaded": s.regions_reloaded,
            "golden_failures": sum(r.golden_failures for r in self.regions.values()),
            **s.summary(),
            "cpu_frac_executive": cpu_exec,
            "protected_bytes": sum(r.size_bytes for r in self.regions.values()),
            "golden_store": self.store_label,
            "regions": {name: r.counters() for name, r in self.regions.items()},
            "tmr": self.tmr.summary(),
            "redundant": self.redundant.summary(),
            "pus6": self.memory_service.summary() if self.memory_service else None,
            "corrections_series": series,
        }
        return out
