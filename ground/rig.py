"""``satnode rig``: serve one spacecraft's devices to a flight stack in another process.

``satnode rig [--config FILE] [--scenario FILE] [--seed N] [--listen HOST:PORT]
[--clock lockstep|paced] [--port-file FILE]`` builds the seeded world and the devices of the
node configuration (the embedded default merged with ``--config``; the same file the flight
side runs with) and serves them over the HIL wire protocol (``hal/hil/PROTOCOL.md``) until
interrupted. ``--listen 127.0.0.1:0`` picks a free port; the address actually bound is printed
and, with ``--port-file``, written there as ``HOST:PORT`` (atomically, so a reader never sees
half of it). The flight side connects with ``satnode sim --hal hil --rig HOST:PORT``.

``satnode rig-fault --rig HOST:PORT inject|clear|list ...`` is the control channel: it injects,
clears or lists faults on a running rig.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from native.errors import ConfigError

__all__ = ["add_rig_parser", "build_rig", "cmd_rig", "cmd_rig_fault"]


def build_rig(
    config_path: str | None,
    *,
    scenario: str | None = None,
    seed: int | None = None,
    clock: str = "lockstep",
) -> Any:
    """A :class:`hil.Rig` for the node configuration at ``config_path`` (None: the
    embedded default): its seed (``seed`` overrides ``[node] seed``), ``[world]``,
    ``[devices]`` and ``[hal] plant_rate_hz``; ``scenario`` is run as the world's time
    passes (its ``[world]`` table is used when the configuration has none, as in
    ``satnode sim``)."""
    from flight.config import load_config
    from hal.sim import load_scenario
    from hil import Rig

    config = load_config(config_path)
    scn = load_scenario(scenario) if scenario else None
    world = config.get("world")
    if world is None and scn is not None and scn.world is not None:
        world = dict(scn.world)
    node_seed = int(config.get("node", {}).get("seed", 0))
    return Rig(
        seed=node_seed if seed is None else seed,
        world=world,
        devices=config.get("devices", {}),
        scenario=scenario,
        clock=clock,
        plant_rate_hz=float(config.get("hal", {}).get("plant_rate_hz", 1.0)),
    )


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"--listen: expected HOST:PORT, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"--listen: port of {text!r} is not an integer") from None
    if not 0 <= port < 65536:
        raise ConfigError(f"--listen: port must be in 0..65535, got {port}")
    return host, port


def cmd_rig(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; print the address, then the rig's counters at exit."""
    host, port = _parse_listen(args.listen)
    rig = build_rig(args.config, scenario=args.scenario, seed=args.seed, clock=args.clock)

    def refused(text: str) -> None:
        print(f"rig: {text}", file=sys.stderr, flush=True)

    rig.on_refuse = refused
    try:
        bound_host, bound_port = rig.listen(host, port)
        address = f"{bound_host}:{bound_port}"
        if args.port_file:
            target = Path(args.port_file)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(address + "\n", encoding="utf-8")
            tmp.replace(target)
        print(
            f"rig: serving {len(rig.device_table())} devices on {address} "
            f"({rig.clock.value}, seed {rig.seed})",
            flush=True,
        )

        def stop(_signum: int, _frame: Any) -> None:
            rig.close()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while not rig.wait(0.5):
            pass
    finally:
        rig.close()
    stats = rig.summary()["stats"]
    print("rig: stopped; " + json.dumps(stats, sort_keys=True), file=sys.stderr, flush=True)
    return 0


def cmd_rig_fault(args: argparse.Namespace) -> int:
    """The control channel: inject, clear or list faults on a running rig."""
    from hil import RigControl

    with RigControl(args.rig) as ctl:
        if args.action == "list":
            print(json.dumps(ctl.list(), indent=2, sort_keys=True))
            return 0
        if not args.target or not args.kind:
            raise ConfigError(f"rig-fault {args.action}: TARGET and KIND are required")
        if args.action == "inject":
            params: dict[str, float | int] = {}
            for item in args.param or ():
                key, sep, value = item.partition("=")
                if not sep:
                    raise ConfigError(f"--param: expected KEY=VALUE, got {item!r}")
                try:
                    params[key] = int(value)
                except ValueError:
                    try:
                        params[key] = float(value)
                    except ValueError:
                        raise ConfigError(f"--param {key}: {value!r} is not a number") from None
            out = ctl.inject(args.target, args.kind, params, args.duration)
            print(json.dumps(out, sort_keys=True))
        else:
            print(f"cleared {ctl.clear(args.target, args.kind)}")
    return 0


def add_rig_parser(sub: Any) -> None:
    """Add ``satnode rig`` and ``satnode rig-fault`` to the CLI's subparsers."""
    rig = sub.add_parser("rig", help="serve a spacecraft's devices to a flight stack (HIL rig)")
    rig.add_argument("--config", help="node configuration TOML merged over the embedded default")
    rig.add_argument("--scenario", help="fault scenario TOML file")
    rig.add_argument("--seed", type=int, help="world seed (overrides [node] seed)")
    rig.add_argument(
        "--listen",
        default="127.0.0.1:7420",
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:7420; port 0 picks a free one)",
    )
    rig.add_argument(
        "--clock",
        choices=("lockstep", "paced"),
        default="lockstep",
        help="lockstep: the world moves when the flight side asks (default); paced: real time",
    )
    rig.add_argument("--port-file", help="write the bound HOST:PORT to this file")
    rig.set_defaults(func=cmd_rig)

    ctl = sub.add_parser("rig-fault", help="inject, clear or list faults on a running rig")
    ctl.add_argument("--rig", required=True, metavar="HOST:PORT", help="the rig's address")
    ctl.add_argument("action", choices=("inject", "clear", "list"))
    ctl.add_argument("target", nargs="?", help="device, device.channel or radiation.region")
    ctl.add_argument("kind", nargs="?", help="fault kind (as in scenario files)")
    ctl.add_argument("--param", action="append", metavar="KEY=VALUE", help="fault parameter")
    ctl.add_argument("--duration", type=float, help="clear after this many seconds of world time")
    ctl.set_defaults(func=cmd_rig_fault)
