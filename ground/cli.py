"""The ``satnode`` command: run a node in simulation, describe it, check and measure it.

This module is the program's entry point; like all of ``flight`` it reads the OS clock only
through :mod:`flight.core._time` (the node measures a run's wall time there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from ground.progress import progress_bar
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.errors import SatnodeError

__all__ = ["main"]

_DESCRIPTION = (
    "satnode: flight software for compute satellites. Each command below has its own "
    "options: 'satnode COMMAND --help'."
)

ORBIT_PERIOD_S_550KM = 5739.0  # Kepler period at 550 km (2 pi sqrt(a^3/mu)), used for --orbits


def _orbit_period_s(config: dict[str, Any]) -> float:
    world = config.get("world", {})
    orbit = world.get("orbit", world)
    alt_km = orbit.get("altitude_km") if isinstance(orbit, dict) else None
    if alt_km is None:
        return ORBIT_PERIOD_S_550KM
    a_m = EARTH_RADIUS_M + 1e3 * float(alt_km)
    return float(2.0 * math.pi * math.sqrt(a_m**3 / MU_EARTH_M3_S2))


#: Files ``satnode sim`` writes into its output folder besides the report's (see
#: :data:`ground.report.REPORT_FILES`) and the parameter file: ``--overwrite`` removes exactly
#: these (and the parameter file of the configuration, with its backup), nothing else.
RUN_FILES = (
    "run.json", "dictionary.json", "tm.bin", "summary.json", "summary.json.tmp",
    "ground-keys.json", "ground-keys.counters.json",
)

#: Exit status of a run stopped by a signal: 128 + the signal number (the shell's convention).
_SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _warn(message: str) -> None:
    print(f"satnode: warning: {message}", file=sys.stderr, flush=True)


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse an output path that cannot hold this run, without changing anything: a file,
    a folder that is not empty (unless ``overwrite``), or a place that cannot be written."""
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise SatnodeError(f"--out {out}: exists and is not a folder")
        try:
            entries = sorted(p.name for p in out.iterdir())
        except OSError as exc:
            raise SatnodeError(f"--out {out}: cannot list it: {exc.strerror or exc}") from None
        if entries and not overwrite:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise SatnodeError(
                f"--out {out}: not empty ({shown}); choose a new folder, or pass --overwrite "
                "to replace satnode's own files there"
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise SatnodeError(f"--out {out}: not writable")
        return
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise SatnodeError(f"--out {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SatnodeError(f"--out {out}: cannot create it in {parent} (not writable)")


def _prepare_out(out: Path, overwrite: bool, params_file: str) -> list[str]:
    """Create ``out``, or with ``overwrite`` remove satnode's own files from it; returns the
    names removed. Files satnode does not write are left alone."""
    from ground.report import REPORT_FILES

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatnodeError(f"--out {out}: cannot create it: {exc.strerror or exc}") from None
    removed: list[str] = []
    if not overwrite:
        return removed
    params = (params_file, params_file + ".bak", params_file + ".tmp")
    for name in (*RUN_FILES, *REPORT_FILES, *params):
        path = out / name
        if path.is_file() or path.is_symlink():
            try:
                path.unlink()
            except OSError as exc:
                raise SatnodeError(
                    f"--out {out}: cannot remove the previous run's {name}: {exc.strerror or exc}"
                ) from None
            removed.append(name)
    return removed


def _config_sha256(config: dict[str, Any]) -> str:
    """SHA-256 of the merged configuration in canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_manifest(node: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The ``run.json`` document of a built node (format ``satnode-run/1``, see the README):
    who runs, with what, and where a ground tool reaches it."""
    from flight.tmtc import CucFormat
    from ground.dictionary import time_code_layout

    comp = node.composition
    tmtc = node.tmtc
    link = node.link
    time_code: dict[str, Any] | None = None
    if tmtc is not None:
        kind = "cuc" if isinstance(tmtc.time_code, CucFormat) else "cds"
        time_code = {"kind": kind, **time_code_layout(tmtc.time_code)}
    uplink = None
    if link is not None:
        host, port = link.uplink_address
        uplink = {"host": host, "port": port}
    downlink = None
    if comp.downlink is not None:
        downlink = {"host": comp.downlink[0], "port": comp.downlink[1]}
    keys = "ground-keys.json" if (node.options.out_dir / "ground-keys.json").is_file() else None
    return {
        "schema": "satnode-run/1",
        "node": str(comp.sections["node"].name) if "node" in comp.sections else "satnode-1",
        "seed": node.seed,
        "config_sha256": _config_sha256(config),
        "versions": {
            "satnode": _version("satnode"),
            "python": platform.python_version(),
            "numpy": _version("numpy"),
            "numba": _version("numba"),
        },
        "apid": tmtc.apid if tmtc is not None else None,
        "time_code": time_code,
        "uplink": uplink,
        "downlink": downlink,
        "speed": node.options.speed,
        "keys": keys,
        "started": {"onboard_ns": node.clock.now_ns()},
    }


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` atomically (a reader sees the old file or the whole new one)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _speed(args: argparse.Namespace) -> float | None:
    if args.realtime:
        return 1.0
    if args.speed is None:
        return None
    if not (math.isfinite(args.speed) and args.speed > 0):
        raise SatnodeError(f"--speed must be a positive number, got {args.speed}")
    return float(args.speed)


def _scenario_targets(node: Any) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    devices = node.backend.devices if node.backend is not None else {}
    return (
        {name: dev.family for name, dev in devices.items()},
        {name: tuple(getattr(dev, "fault_channels", ())) for name, dev in devices.items()},
    )


def cmd_sim(args: argparse.Namespace) -> int:
    """Run a node on the configured backend; write run.json, tm.bin, summary.json and plots.

    Everything is checked before the output folder is touched: the configuration, the run
    length and pace, the output path, the scenario (syntax, then every target and memory
    region against the node that will run it), the ports and the downlink address.
    """
    from flight.config import load_config
    from flight.node import Node, NodeOptions
    from ground.dictionary import build_dictionary
    from ground.report import attach_recorder, write_report
    from hal.registry import FaultScenarios
    from hal.sim import load_scenario

    config = load_config(args.config)
    if args.hal is not None or args.rig is not None:  # --hal/--rig: [hal] overrides
        hal_table = config.setdefault("hal", {})
        if args.hal is not None:
            hal_table["backend"] = args.hal
        if args.rig is not None:
            hal_table["rig"] = args.rig
    if args.policy is not None:
        if "compute" not in config:
            raise SatnodeError("--policy needs a [compute] section in the configuration")
        config["compute"]["policy"] = args.policy
    if args.duration is not None:
        duration = args.duration
    else:
        duration = (args.orbits if args.orbits is not None else 1.0) * _orbit_period_s(config)
    if not math.isfinite(duration) or duration <= 0:
        raise SatnodeError(f"run length must be a positive number of seconds, got {duration}")
    speed = _speed(args)
    scenario = load_scenario(args.scenario) if args.scenario else None
    if scenario is not None and scenario.world is not None and "world" not in config:
        config["world"] = dict(scenario.world)  # the scenario's world, unless configured
    out = Path(args.out)
    _check_out(out, args.overwrite)
    # The run's development key set, staged outside the output folder: the node's empty NV
    # key store is provisioned from it; the ground copy is published once the output opens.
    from ground.uplink import prepare_run_keys, publish_run_keys

    node_config, staged_keys = prepare_run_keys(config)
    options = NodeOptions(
        out_dir=out,
        seed=args.seed,
        speed=speed,
        scenario=Path(args.scenario) if args.scenario else None,
        uplink_port=args.uplink_port,
        downlink=args.downlink,
        warn=_warn,
    )
    # Composition validates the configuration, binds the uplink, resolves the downlink and
    # builds the devices; it does not touch the output folder.
    node = Node(node_config, options, open_output=False)
    handlers: dict[signal.Signals, Any] = {}
    received: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if received:  # a second signal: stop now, without a summary
            raise KeyboardInterrupt
        received.append(signum)
        node.request_stop()

    try:
        # From here a signal stops the run at a tick boundary (even before the first tick)
        # and the summary is still written.
        if threading.current_thread() is threading.main_thread():  # Python's rule
            for sig in _SIGNAL_EXIT:
                handlers[sig] = signal.signal(sig, on_signal)
        if scenario is not None:
            if not isinstance(node.backend, FaultScenarios):
                raise SatnodeError(
                    f"--scenario: the {config.get('hal', {}).get('backend', '?')!r} backend "
                    "cannot run fault scenarios"
                )
            targets, channels = _scenario_targets(node)
            radiation = getattr(getattr(node.backend, "world", None), "radiation", None)
            regions = getattr(radiation, "regions", None)
            for warning in scenario.check(
                targets, channels, regions=regions, end_ns=round(duration * 1e9)
            ):
                _warn(warning)
        params_file = str(config.get("params", {}).get("file", "params.bin"))
        removed = _prepare_out(out, args.overwrite, params_file)
        if removed:
            print(f"--overwrite: removed {', '.join(removed)} from {out}", file=sys.stderr)
        node.open_output()
        publish_run_keys(staged_keys, out)
        manifest = run_manifest(node, config)
        # The run's own dictionary beside it: a ground tool reading --run DIR decodes this
        # node, whatever --config it was built from.
        if node.tmtc is not None:
            _write_json(out / "dictionary.json", build_dictionary(node.executive, node.tmtc))
        _write_json(out / "run.json", manifest)
        up, down = manifest["uplink"], manifest["downlink"]
        print(
            f"{manifest['node']}: uplink "
            + (f"{up['host']}:{up['port']}/udp" if up else "off")
            + ", downlink "
            + (f"{down['host']}:{down['port']}/udp" if down else "off")
            + f"; run: {out / 'run.json'}",
            flush=True,
        )
        report_cfg = config.get("report", {})
        recorder = None
        if report_cfg.get("enabled", True):
            recorder = attach_recorder(node, float(report_cfg.get("sample_s", 10.0)))
        progress = progress_bar(sys.stderr) if sys.stderr.isatty() or args.progress else None
        summary = node.run(duration, progress=progress)
        path = node.write_summary(summary)
        if recorder is not None:
            write_report(out, recorder, summary)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        node.close()
    wall = summary["wall"]
    rtf = wall.get("realtime_factor")
    if summary["interrupted"]:
        name = signal.Signals(received[0]).name if received else "signal"
        print(
            f"satnode: {name}: stopped at t = {summary['sim_seconds']:.1f} s; summary: {path}",
            file=sys.stderr,
        )
        return _SIGNAL_EXIT.get(signal.Signals(received[0]), 1) if received else 1
    print(
        f"simulated {summary['sim_seconds']:.0f} s in {wall['wall_seconds']:.2f} s"
        + (f" ({rtf:.0f}x real time)" if rtf else "")
        + f"; {summary['tmtc']['tm_packets']} TM packets; summary: {path}"
    )
    return 0


def cmd_dict(args: argparse.Namespace) -> int:
    """Print the command/telemetry/event/parameter dictionary of the configured node."""
    from flight.config import load_config
    from flight.node import Node, NodeOptions
    from ground.dictionary import build_dictionary

    config = load_config(args.config)
    config.setdefault("tmtc", {})["ground_link"] = False
    import tempfile

    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        # checked before the node is built; the write itself can still fail (permissions)
        raise SatnodeError(f"--out {out}: not a file in an existing folder")
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(config, NodeOptions(out_dir=Path(tmp)))
        try:
            if node.tmtc is None:
                raise SatnodeError("the configuration has no TM/TC endpoint: nothing to describe")
            dictionary = build_dictionary(node.executive, node.tmtc)
        finally:
            node.close()
    if args.format == "xtce":
        from ground.xtce import build_xtce

        text = build_xtce(dictionary)
    else:
        text = json.dumps(dictionary, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SatnodeError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    print(f"{args.format} dictionary written to {out}", file=sys.stderr)
    return 0


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print versions, the crcmod extension status and the native backends."""
    from flight.tmtc import crc_extension_status
    from native.backend import backend_report, selected_backend

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("satnode", "numpy", "numba", "cffi", "crcmod")},
        "crcmod_extension": crc_extension_status(),
        "native_backend": selected_backend(),
        "kernels": backend_report(strict=False),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k:<24} {v}")
            else:
                print(f"{key:<26} {value}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    """Print the merged, validated configuration (the embedded default plus ``--config``)."""
    from flight.config import format_config, load_config

    print(format_config(load_config(args.config)), end="")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the native kernel benchmarks against their peers."""
    from ground.bench import format_table, run_all

    records = run_all(quick=args.quick)
    print(format_table(records))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in records], indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``satnode`` command."""
    parser = argparse.ArgumentParser(prog="satnode", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"satnode {_version('satnode')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="run a node (default: embedded configuration, sim backend)")
    sim.add_argument("--config", help="TOML file merged over the embedded default")
    length = sim.add_mutually_exclusive_group()
    length.add_argument("--orbits", type=float, help="run length in orbits (default 1)")
    length.add_argument("--duration", type=float, help="run length in seconds")
    sim.add_argument("--seed", type=int, help="world seed (overrides [node] seed)")
    sim.add_argument("--scenario", help="fault scenario TOML file")
    sim.add_argument(
        "--out",
        default="satnode-out",
        help="output folder (default satnode-out); must be new or empty unless --overwrite",
    )
    sim.add_argument(
        "--overwrite",
        action="store_true",
        help="reuse a non-empty --out: satnode's own files there are removed first",
    )
    pace = sim.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="pace simulated time at X times real time (default: as fast as possible)",
    )
    pace.add_argument("--realtime", action="store_true", help="same as --speed 1")
    sim.add_argument("--uplink-port", type=int, help="UDP port for telecommands (0: ephemeral)")
    sim.add_argument(
        "--downlink",
        metavar="HOST:PORT",
        help="send every TM packet there by UDP (default: [tmtc] downlink, empty = off)",
    )
    sim.add_argument(
        "--progress", action="store_true", help="show a progress bar even without a tty"
    )
    sim.add_argument(
        "--policy",
        choices=("edf", "fifo"),
        help="AI executor scheduling policy (overrides [compute])",
    )
    sim.add_argument("--hal", metavar="BACKEND", help="HAL backend (overrides [hal] backend)")
    sim.add_argument(
        "--rig", metavar="HOST:PORT", help="rig of the hil backend (overrides [hal] rig)"
    )
    sim.set_defaults(func=cmd_sim)

    dct = sub.add_parser(
        "dict", help="the command and telemetry dictionary (JSON, or XTCE 1.2 with --format xtce)"
    )
    dct.add_argument("--config", help="TOML file merged over the embedded default")
    dct.add_argument(
        "--format", choices=("json", "xtce"), default="json", help="output format (default json)"
    )
    dct.add_argument("--out", help="write to this file instead of standard output")
    dct.set_defaults(func=cmd_dict)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the merged, validated configuration")
    show.add_argument("--config", help="TOML file merged over the embedded default")
    show.set_defaults(func=cmd_config_show)

    doc = sub.add_parser("doctor", help="versions, crcmod extension, native backends")
    doc.add_argument("--json", action="store_true", help="print JSON")
    doc.set_defaults(func=cmd_doctor)

    bench = sub.add_parser("bench", help="native kernel benchmarks against peers")
    bench.add_argument("--quick", action="store_true", help="reduced sizes, seconds in total")
    bench.add_argument("--json", help="write the records to this JSON file")
    bench.set_defaults(func=cmd_bench)

    from ground.faults import add_faults_parser

    add_faults_parser(sub)
    from ground.rig import add_rig_parser

    add_rig_parser(sub)
    from ground.operate import add_ground_parser

    add_ground_parser(sub)
    from ground.boot_cli import add_boot_parsers

    add_boot_parsers(sub)
    from ground.constellation import add_constellation_parser

    add_constellation_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point. Satnode errors print one clear line and exit 2; an unexpected error prints
    one line too (exit 1; ``SATNODE_DEBUG=1`` shows the traceback); Ctrl-C exits 130."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SatnodeError as exc:
        print(f"satnode: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("satnode: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"satnode: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("SATNODE_DEBUG"):
            raise
        print(
            f"satnode: internal error: {type(exc).__name__}: {exc} "
            "(set SATNODE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
