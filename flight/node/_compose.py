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
    PacedClock,
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
from native.errors import ConfigError, ParameterError

__all__ = [
    "Composition",
    "NodeOptions",
    "TmArchive",
    "compose",
    "make_context",
    "message_types",
    "resolve_downlink",
    "section",
]


@dataclass(slots=True)
class NodeOptions:
    """Run-time choices that are not part of the configuration file (CLI flags)."""

    out_dir: Path = Path("satnode-out")
    seed: int | None = None
    #: Pace simulated time at ``speed`` x real time (:class:`~flight.core.PacedClock`;
    #: 1.0 is real time). None: as fast as possible. Either way onboard time is simulated,
    #: so the same seed computes the same run.
    speed: float | None = None
    #: fault scenario file, loaded into the backend at boot (after composition, before the
    #: first tick, so faults due at t = 0 find every flight memory region registered)
    scenario: Path | None = None
    uplink_port: int | None = None
    #: ``HOST:PORT`` receiving every TM packet; None: ``[tmtc] downlink`` ('' there: off)
    downlink: str | None = None
    #: called with a one-line message for conditions worth telling the operator once
    #: (the first downlink send error); None: silent (they are counted in the summary)
    warn: Callable[[str], None] | None = None
    #: extra TM sinks (each gets every packet's octets)
    extra_sinks: list[Callable[[bytes], None]] = field(default_factory=list)
    #: Start from the declared parameter defaults (a fresh spacecraft) instead of the
    #: parameter file a previous run left in ``out_dir``. A reboot test sets it False.
    fresh_params: bool = True
    #: file name of the TM archive in ``out_dir`` (a constellation: ``tm-<node>.bin``)
    tm_file: str = "tm.bin"
    #: extra backend options given in code, not in the file (a constellation passes the
    #: shared ``universe``, this node's ``spacecraft`` and the ``optical_channel``); they
    #: win over ``[hal]`` keys, and a ``universe`` replaces the ``[world]`` table
    hal_options: dict[str, Any] = field(default_factory=dict)


class TmArchive:
    """Appends every TM packet to ``tm.bin`` (raw concatenated CCSDS packets).

    The file is created by :meth:`open`; packets made before that (during composition) are
    kept in memory and written first, so building a node never touches the output folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO | None = None
        self._pending: list[bytes] = []
        self._closed = False
        self.packets = 0
        self.octets = 0

    def open(self) -> None:
        """Create (truncate) the file and write the packets made so far (idempotent)."""
        if self._fh is not None or self._closed:
            return
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        for packet in self._pending:
            self._fh.write(packet)
        self._pending.clear()

    def __call__(self, packet: bytes) -> None:
        if self._fh is not None:
            self._fh.write(packet)
        elif not self._closed:
            self._pending.append(packet)
        self.packets += 1
        self.octets += len(packet)

    def close(self) -> None:
        """Flush and close the archive (idempotent)."""
        self._closed = True
        self._pending.clear()
        if self._fh is not None:
            self._fh.close()


class _DownlinkSender:
    """Sends every TM packet to the downlink; counts errors, tells the operator once."""

    def __init__(
        self, link: UdpGroundLink, address: str, warn: Callable[[str], None] | None
    ) -> None:
        self.link = link
        self.address = address
        self.warn = warn
        self.warned = False

    def __call__(self, packet: bytes) -> None:
        errors = self.link.send_errors
        self.link.send(packet)
        if self.link.send_errors > errors and not self.warned:
            self.warned = True
            if self.warn is not None:
                self.warn(
                    f"downlink {self.address}: cannot send TM; further send errors are "
                    "counted in the summary (tmtc.downlink.send_errors)"
                )


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
    #: the TM downlink: the address given (``HOST:PORT`` as configured), the resolved
    #: (IPv4, port) it sends to, and its sender (None: downlink off)
    downlink_text: str | None = None
    downlink: tuple[str, int] | None = None
    downlink_sender: _DownlinkSender | None = None
    #: True once :meth:`open_output` created the output folder's files
    output_open: bool = False

    def open_output(self) -> None:
        """Create the output folder, the TM archive (``tm.bin``) and load the parameters
        (idempotent). Until this is called the node has not touched the folder: a caller can
        validate everything (configuration, scenario, ports) first."""
        if self.output_open:
            return
        self.options.out_dir.mkdir(parents=True, exist_ok=True)
        if self.options.fresh_params:
            try:
                self.params.discard_files()  # an obstacle (a directory) is moved aside
            except ParameterError as exc:
                raise ConfigError(f"[params] file: {exc}") from None
        self.archive.open()
        self.param_load = self.params.load()
        self.output_open = True

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
    *,
    open_output: bool = True,
) -> Composition:
    """Build a node from a validated configuration dict (see :func:`flight.config.load_config`).

    Creates the core (clock, events, parameters, executive, TM/TC endpoint), opens the HAL
    backend, then installs every application of ``applications`` (the registry,
    :data:`flight.apps.APPLICATIONS` by default) whose section is present, in data-flow
    order. With ``open_output`` the output folder is then created and its files opened
    (:meth:`Composition.open_output`); without, nothing in it is touched yet. On any error
    everything built so far is released.
    """
    try:
        id_table(applications)
    except ValueError as exc:
        raise ConfigError(f"application registry: {exc}") from None
    sections = validate(config, applications)
    opts = options or NodeOptions()
    node = section(sections, "node", NodeSection)
    ex = section(sections, "executive", ExecutiveSection)
    seed = int(opts.seed if opts.seed is not None else node.seed)
    clock: Clock = SimClock() if opts.speed is None else PacedClock(opts.speed)
    events = EventLog(clock)
    param_path = opts.out_dir / section(sections, "params", ParamsSection).file
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
        archive=TmArchive(opts.out_dir / opts.tm_file),
    )
    try:
        _build_tmtc(comp)
        _open_hal(comp)
        _install_apps(comp, applications)
        if open_output:
            comp.open_output()
    except BaseException:
        comp.close()  # release the archive, sockets and backend of a half-built node
        raise
    return comp


def _build_tmtc(comp: Composition) -> None:
    opts = comp.options
    tmtc_cfg = section(comp.sections, "tmtc", TmtcSection)
    downlink_text = opts.downlink if opts.downlink is not None else tmtc_cfg.downlink
    if tmtc_cfg.ground_link or opts.uplink_port is not None or opts.downlink:
        port = opts.uplink_port if opts.uplink_port is not None else tmtc_cfg.uplink_port
        if downlink_text:
            comp.downlink_text = downlink_text
            comp.downlink = resolve_downlink(downlink_text)
        comp.link = UdpGroundLink(tmtc_cfg.uplink_host, port, comp.downlink)
    sinks: list[Callable[[bytes], None]] = [comp.archive, *opts.extra_sinks]
    if comp.link is not None and comp.downlink is not None:
        comp.downlink_sender = _DownlinkSender(comp.link, downlink_text, opts.warn)
        sinks.append(comp.downlink_sender)
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


def resolve_downlink(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (IPv4 address, port), resolved once at start-up so that a host that
    does not resolve is a ConfigError before the run, not a silent stream of send errors."""
    import socket

    host, port = parse_host_port(text)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"downlink {text!r}: host {host!r} does not resolve ({exc})") from None
    if not infos:
        raise ConfigError(f"downlink {text!r}: host {host!r} has no IPv4 address")
    address = infos[0][4]
    return str(address[0]), int(address[1])


def _open_hal(comp: Composition) -> None:
    """Open the configured HAL backend (by name, through the registry) and its devices."""
    hal_cfg = comp.config.get("hal")
    if hal_cfg is None:
        return
    from hal import Watchdog
    from hal.registry import get_device, open_from_config

    table: dict[str, Any] = {k: v for k, v in hal_cfg.items() if k != "plant_rate_hz"}
    table["seed"] = comp.seed
    table.update(comp.options.hal_options)
    if "world" in comp.config and "universe" not in table:
        table.setdefault("world", comp.config["world"])
    if "devices" in comp.config:
        table.setdefault("devices", comp.config["devices"])
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
    if comp.link is not None:  # the security app becomes the uplink's gate through this
        comp.services.setdefault("tmtc.uplink", comp.link)
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
