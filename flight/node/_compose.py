"""Composition: build one node's flight software and devices from its configuration.

This is the one place that chooses backends (through :mod:`hal.registry`, by name from the
configuration) and the one place that wires applications: it walks the application registry
(:mod:`flight.apps`) in data-flow order, parses each present section with the app's schema and
installs the app through an :class:`~flight.core.InstallContext`. Flight applications never see
a backend class, the node, or each other.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import flight.messages as messages
from flight._sections import (
    ExecutiveSection,
    NodeSection,
    ParamsSection,
    TmtcSection,
)
from flight.apps import APPLICATIONS, COMPONENT_IDS, id_table
from flight.config import validate
from flight.core import (
    Application,
    AppSpec,
    Clock,
    EventLog,
    Executive,
    InstallContext,
    LoadReport,
    MonotonicClock,
    ParamStore,
    SimClock,
)
from flight.node._topology import dataflow_order
from flight.tmtc import (
    TM_OVERHEAD_LEN,
    CdsFormat,
    CucFormat,
    TmtcService,
    UdpGroundLink,
    parse_host_port,
)
from native import schema
from native.errors import ConfigError

__all__ = [
    "Composition",
    "NodeOptions",
    "TmArchive",
    "compose",
    "make_context",
    "message_types",
    "section",
]


@dataclass(slots=True)
class NodeOptions:
    """Run-time choices that are not part of the configuration file (CLI flags)."""

    out_dir: Path = Path("satnode-out")
    seed: int | None = None
    realtime: bool = False
    scenario: Path | None = None
    uplink_port: int | None = None
    downlink: str | None = None
    #: extra TM sinks (each gets every packet's octets)
    extra_sinks: list[Callable[[bytes], None]] = field(default_factory=list)
    #: Start from the declared parameter defaults (a fresh spacecraft) instead of the
    #: parameter file a previous run left in ``out_dir``. A reboot test sets it False.
    fresh_params: bool = True


class TmArchive:
    """Appends every TM packet to ``tm.bin`` (raw concatenated CCSDS packets)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.packets = 0
        self.octets = 0

    def __call__(self, packet: bytes) -> None:
        self._fh.write(packet)
        self.packets += 1
        self.octets += len(packet)

    def close(self) -> None:
        """Flush and close the archive (idempotent)."""
        self._fh.close()


def message_types() -> dict[str, type]:
    """Every bus message type of the node by name (the vocabulary of :mod:`flight.messages`)."""
    out: dict[str, type] = {}
    for name in messages.__all__:
        obj = getattr(messages, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            out[name] = obj
    return out


@dataclass(slots=True)
class Composition:
    """Everything composition built for one node (the run loop and the summary use it)."""

    config: dict[str, Any]
    #: the validated sections (:func:`flight.config.validate`): typed node sections and
    #: each present application's parsed ``Config``
    sections: dict[str, Any]
    options: NodeOptions
    seed: int
    clock: Clock
    events: EventLog
    params: ParamStore
    executive: Executive
    archive: TmArchive
    link: UdpGroundLink | None = None
    tmtc: TmtcService | None = None
    backend: Any = None
    watchdog: Any = None
    apps: dict[str, Application] = field(default_factory=dict)
    app_specs: list[AppSpec] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    param_load: LoadReport | None = None

    def close(self) -> None:
        """Release the archive, the link and the backend (idempotent)."""
        if self.executive.started:
            self.executive.stop()
        self.archive.close()
        if self.link is not None:
            self.link.close()
        if self.backend is not None:
            self.backend.close()


S = TypeVar("S")


def section(sections: Mapping[str, Any], name: str, cls: type[S]) -> S:
    """The validated section ``name``, or its defaults when the configuration omits it."""
    value = sections.get(name)
    return value if isinstance(value, cls) else schema.parse(cls, {}, name)


def _time_code(name: str) -> CucFormat | CdsFormat:
    if name == "cuc":
        return CucFormat()
    if name == "cds":
        return CdsFormat()
    raise ConfigError(f"[tmtc] time_code: must be 'cuc' or 'cds', got {name!r}")


def compose(
    config: dict[str, Any],
    options: NodeOptions | None = None,
    applications: Sequence[AppSpec] = APPLICATIONS,
) -> Composition:
    """Build a node from a validated configuration dict (see :func:`flight.config.load_config`).

    Creates the output folder, the core (clock, events, parameters, executive, TM/TC
    endpoint), opens the HAL backend, then installs every application of ``applications``
    (the registry, :data:`flight.apps.APPLICATIONS` by default) whose section is present, in
    data-flow order. On any error everything built so far is released.
    """
    try:
        id_table(applications)
    except ValueError as exc:
        raise ConfigError(f"application registry: {exc}") from None
    sections = validate(config, applications)
    opts = options or NodeOptions()
    node = section(sections, "node", NodeSection)
    ex = section(sections, "executive", ExecutiveSection)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(opts.seed if opts.seed is not None else node.seed)
    clock: Clock = MonotonicClock() if opts.realtime else SimClock()
    events = EventLog(clock)
    param_path = opts.out_dir / section(sections, "params", ParamsSection).file
    if opts.fresh_params:
        for stale in (param_path, param_path.with_name(param_path.name + ".bak")):
            stale.unlink(missing_ok=True)
    params = ParamStore(param_path)
    executive = Executive(
        clock,
        ex.base_hz,
        events=events,
        params=params,
        ping_period_s=ex.ping_period_s,
        ping_misses_to_escalate=ex.ping_misses_to_escalate,
        max_restarts=ex.max_restarts,
    )
    comp = Composition(
        config=config,
        sections=sections,
        options=opts,
        seed=seed,
        clock=clock,
        events=events,
        params=params,
        executive=executive,
        archive=TmArchive(opts.out_dir / "tm.bin"),
    )
    try:
        _build_tmtc(comp)
        _open_hal(comp)
        _install_apps(comp, applications)
        comp.param_load = params.load()
    except BaseException:
        comp.close()  # release the archive, sockets and backend of a half-built node
        raise
    return comp


def _build_tmtc(comp: Composition) -> None:
    opts = comp.options
    tmtc_cfg = section(comp.sections, "tmtc", TmtcSection)
    if tmtc_cfg.ground_link or opts.uplink_port is not None:
        port = opts.uplink_port if opts.uplink_port is not None else tmtc_cfg.uplink_port
        downlink = parse_host_port(opts.downlink or tmtc_cfg.downlink)
        comp.link = UdpGroundLink(tmtc_cfg.uplink_host, port, downlink)
    sinks: list[Callable[[bytes], None]] = [comp.archive, *opts.extra_sinks]
    if comp.link is not None:
        sinks.append(comp.link.send)
    comp.tmtc = TmtcService(
        comp.executive,
        section(comp.sections, "node", NodeSection).apid,
        component_id=COMPONENT_IDS["tmtc"],
        time_code=_time_code(tmtc_cfg.time_code),
        hk_interval_s=tmtc_cfg.hk_interval_s,
        max_packet_len=tmtc_cfg.max_packet_len,
        sinks=sinks,
        poll=comp.link.poll if comp.link is not None else None,
    )


def _open_hal(comp: Composition) -> None:
    """Open the configured HAL backend (by name, through the registry) and its devices."""
    hal_cfg = comp.config.get("hal")
    if hal_cfg is None:
        return
    from hal import Watchdog
    from hal.registry import get_device, open_from_config

    table: dict[str, Any] = {k: v for k, v in hal_cfg.items() if k != "plant_rate_hz"}
    table["seed"] = comp.seed
    if "world" in comp.config:
        table.setdefault("world", comp.config["world"])
    if "devices" in comp.config:
        table.setdefault("devices", comp.config["devices"])
    if comp.options.scenario is not None:
        table["scenario"] = str(comp.options.scenario)
    comp.backend = open_from_config(table)
    wd_name = section(comp.sections, "executive", ExecutiveSection).watchdog
    if wd_name:
        comp.watchdog = get_device(comp.backend, wd_name, Watchdog)
        comp.executive.watchdog = comp.watchdog


def make_context(
    spec: AppSpec,
    *,
    executive: Executive,
    backend: Any = None,
    tmtc: TmtcService | None = None,
    services: dict[str, Any] | None = None,
    seed: int = 1,
    after: list[Callable[[], None]] | None = None,
) -> InstallContext:
    """The :class:`InstallContext` of one application on this executive, backend (None: no
    HAL) and TM/TC endpoint (None: none). ``services`` is shared between the apps of a node;
    post-install callbacks are appended to ``after`` (None: refused)."""
    lookup = None
    if backend is not None:
        from hal.registry import get_device

        def lookup(name: str, interface: type) -> Any:
            return get_device(backend, name, interface)

    return InstallContext(
        spec,
        clock=executive.clock,
        bus=executive.bus,
        events=executive.events,
        params=executive.params,
        seed=seed,
        base_hz=executive.base_hz,
        add_component=executive.add,
        lookup_device=lookup,
        capabilities=backend,
        register_service=tmtc.register_service if tmtc is not None else None,
        send_tm=tmtc.send_tm if tmtc is not None else None,
        services=services if services is not None else {},
        message_types=message_types(),
        tmtc=tmtc,
        max_tm_data_len=(
            tmtc.max_packet_len - TM_OVERHEAD_LEN - tmtc.time_code.length if tmtc else 0
        ),
        after_install=after.append if after is not None else None,
    )


def _install_apps(comp: Composition, applications: Sequence[AppSpec]) -> None:
    """Install the applications whose section is present, in data-flow order.

    Each app package exposes ``parse_config(table) -> Config`` (its schema) and
    ``install(ctx, cfg) -> App``; the app's ``summary()`` becomes its section of the summary.
    """
    present = [spec for spec in applications if comp.config.get(spec.section) is not None]
    comp.app_specs = dataflow_order(present)
    after: list[Callable[[], None]] = []
    for spec in comp.app_specs:
        module = importlib.import_module(spec.module)
        cfg = comp.sections[spec.section]  # parsed by the app's own schema in validate()
        ctx = make_context(
            spec,
            executive=comp.executive,
            backend=comp.backend,
            tmtc=comp.tmtc,
            services=comp.services,
            seed=comp.seed,
            after=after,
        )
        comp.apps[spec.section] = module.install(ctx, cfg)
    for callback in after:
        callback()
