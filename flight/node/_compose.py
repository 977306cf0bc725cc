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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import flight.messages as messages
from flight.apps import APPLICATIONS, COMPONENT_IDS
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
from flight.tmtc import CdsFormat, CucFormat, TmtcService, UdpGroundLink, parse_host_port
from native.errors import ConfigError

__all__ = ["Composition", "NodeOptions", "TmArchive", "compose", "message_types"]


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


def _time_code(name: str) -> CucFormat | CdsFormat:
    if name == "cuc":
        return CucFormat()
    if name == "cds":
        return CdsFormat()
    raise ConfigError(f"[tmtc] time_code: must be 'cuc' or 'cds', got {name!r}")


def compose(config: dict[str, Any], options: NodeOptions | None = None) -> Composition:
    """Build a node from a validated configuration dict (see :func:`flight.config.load_config`).

    Creates the output folder, the core (clock, events, parameters, executive, TM/TC
    endpoint), opens the HAL backend, then installs every application whose section is
    present, in data-flow order. On any error everything built so far is released.
    """
    opts = options or NodeOptions()
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    node_cfg = config.get("node", {})
    exec_cfg = config.get("executive", {})
    seed = int(opts.seed if opts.seed is not None else node_cfg.get("seed", 1))
    clock: Clock = MonotonicClock() if opts.realtime else SimClock()
    events = EventLog(clock)
    param_path = opts.out_dir / config.get("params", {}).get("file", "params.bin")
    if opts.fresh_params:
        for stale in (param_path, param_path.with_name(param_path.name + ".bak")):
            stale.unlink(missing_ok=True)
    params = ParamStore(param_path)
    executive = Executive(
        clock,
        float(exec_cfg.get("base_hz", 10.0)),
        events=events,
        params=params,
        ping_period_s=float(exec_cfg.get("ping_period_s", 1.0)),
        ping_misses_to_escalate=int(exec_cfg.get("ping_misses_to_escalate", 3)),
        max_restarts=int(exec_cfg.get("max_restarts", 2)),
    )
    comp = Composition(
        config=config,
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
        _install_apps(comp)
        comp.param_load = params.load()
    except BaseException:
        comp.close()  # release the archive, sockets and backend of a half-built node
        raise
    return comp


def _build_tmtc(comp: Composition) -> None:
    cfg, opts = comp.config, comp.options
    tmtc_cfg = cfg.get("tmtc", {})
    if tmtc_cfg.get("ground_link", True) or opts.uplink_port is not None:
        port = opts.uplink_port if opts.uplink_port is not None else tmtc_cfg.get("uplink_port", 0)
        downlink = parse_host_port(opts.downlink or tmtc_cfg.get("downlink", "127.0.0.1:10026"))
        comp.link = UdpGroundLink(tmtc_cfg.get("uplink_host", "127.0.0.1"), int(port), downlink)
    sinks: list[Callable[[bytes], None]] = [comp.archive, *opts.extra_sinks]
    if comp.link is not None:
        sinks.append(comp.link.send)
    comp.tmtc = TmtcService(
        comp.executive,
        int(cfg.get("node", {}).get("apid", 100)),
        component_id=COMPONENT_IDS["tmtc"],
        time_code=_time_code(tmtc_cfg.get("time_code", "cuc")),
        hk_interval_s=float(tmtc_cfg.get("hk_interval_s", 10.0)),
        max_packet_len=int(tmtc_cfg.get("max_packet_len", 4096)),
        sinks=sinks,
        poll=comp.link.poll if comp.link is not None else None,
    )


def _open_hal(comp: Composition) -> None:
    """Open the configured HAL backend (by name, through the registry) and its devices."""
    hal_cfg = comp.config.get("hal")
    if not hal_cfg:
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
    wd_name = comp.config.get("executive", {}).get("watchdog")
    if wd_name:
        comp.watchdog = get_device(comp.backend, wd_name, Watchdog)
        comp.executive.watchdog = comp.watchdog


def _context(comp: Composition, spec: AppSpec, types: Mapping[str, type]) -> InstallContext:
    backend = comp.backend
    lookup = None
    if backend is not None:
        from hal.registry import get_device

        def lookup(name: str, interface: type) -> Any:
            return get_device(backend, name, interface)

    tmtc = comp.tmtc
    return InstallContext(
        spec,
        clock=comp.clock,
        bus=comp.executive.bus,
        events=comp.events,
        params=comp.params,
        seed=comp.seed,
        base_hz=comp.executive.base_hz,
        add_component=comp.executive.add,
        lookup_device=lookup,
        capabilities=backend,
        register_service=tmtc.register_service if tmtc is not None else None,
        send_tm=tmtc.send_tm if tmtc is not None else None,
        services=comp.services,
        message_types=types,
    )


def _install_apps(comp: Composition) -> None:
    """Install the applications whose section is present, in data-flow order.

    Each app package exposes ``parse_config(table) -> Config`` (its schema) and
    ``install(ctx, cfg) -> App``; the app's ``summary()`` becomes its section of the summary.
    """
    present = [spec for spec in APPLICATIONS if comp.config.get(spec.section) is not None]
    comp.app_specs = dataflow_order(present)
    types = message_types()
    for spec in comp.app_specs:
        module = importlib.import_module(spec.module)
        cfg = module.parse_config(comp.config[spec.section])
        comp.apps[spec.section] = module.install(_context(comp, spec, types), cfg)
