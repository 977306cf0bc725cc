"""The ``satnode`` command: ``sim``, ``dict``, ``doctor``, ``bench``.

This module is the program's entry point; like all of ``flight`` it reads the OS clock only
through :mod:`flight.core._time` (the node measures a run's wall time there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.errors import SatnodeError

__all__ = ["main"]

ORBIT_PERIOD_S_550KM = 5739.0  # Kepler period at 550 km (2 pi sqrt(a^3/mu)), used for --orbits


def _progress_bar(stream: Any) -> Any:
    def show(frac: float) -> None:
        width = 40
        filled = round(frac * width)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {frac * 100:5.1f}%")
        if frac >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def _orbit_period_s(config: dict[str, Any]) -> float:
    world = config.get("world", {})
    orbit = world.get("orbit", world)
    alt_km = orbit.get("altitude_km") if isinstance(orbit, dict) else None
    if alt_km is None:
        return ORBIT_PERIOD_S_550KM
    a_m = EARTH_RADIUS_M + 1e3 * float(alt_km)
    return float(2.0 * math.pi * math.sqrt(a_m**3 / MU_EARTH_M3_S2))


def cmd_sim(args: argparse.Namespace) -> int:
    """Run a node on the configured backend and write tm.bin and summary.json."""
    from flight.config import load_config
    from flight.node import Node, NodeOptions
    from ground.report import attach_recorder, write_report

    config = load_config(args.config)
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
    options = NodeOptions(
        out_dir=Path(args.out),
        seed=args.seed,
        realtime=args.realtime,
        scenario=Path(args.scenario) if args.scenario else None,
        uplink_port=args.uplink_port,
        downlink=args.downlink,
    )
    node = Node(config, options)
    try:
        report_cfg = config.get("report", {})
        recorder = None
        if report_cfg.get("enabled", True):
            recorder = attach_recorder(node, float(report_cfg.get("sample_s", 10.0)))
        progress = _progress_bar(sys.stderr) if sys.stderr.isatty() or args.progress else None
        summary = node.run(duration, progress=progress)
        path = node.write_summary(summary)
        if recorder is not None:
            write_report(options.out_dir, recorder, summary)
    finally:
        node.close()
    rtf = summary.get("realtime_factor")
    print(
        f"simulated {summary['sim_seconds']:.0f} s in {summary['wall_seconds']:.2f} s"
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
    parser = argparse.ArgumentParser(prog="satnode", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("sim", help="run a node (default: embedded configuration, sim backend)")
    sim.add_argument("--config", help="TOML file merged over the embedded default")
    length = sim.add_mutually_exclusive_group()
    length.add_argument("--orbits", type=float, help="run length in orbits (default 1)")
    length.add_argument("--duration", type=float, help="run length in seconds")
    sim.add_argument("--seed", type=int, help="world seed (overrides [node] seed)")
    sim.add_argument("--scenario", help="fault scenario TOML file")
    sim.add_argument("--out", default="satnode-out", help="output folder (default satnode-out)")
    sim.add_argument(
        "--realtime", action="store_true", help="run in real time, not as fast as possible"
    )
    sim.add_argument("--uplink-port", type=int, help="UDP port for telecommands (0: ephemeral)")
    sim.add_argument("--downlink", help="HOST:PORT receiving every TM packet")
    sim.add_argument(
        "--progress", action="store_true", help="show a progress bar even without a tty"
    )
    sim.add_argument(
        "--policy",
        choices=("edf", "fifo"),
        help="AI executor scheduling policy (overrides [compute])",
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
