"""The flight stack of a booted slot: runs inside the slot's own code (a child process).

The boot selector starts ``python -s -c BOOTSTRAP SITE ARGS``: the bootstrap puts the slot's
unpacked wheel first on ``sys.path``, checks that ``flight`` really comes from there, and
calls :func:`main`, which builds the node from the slot's configuration plus the target's
overrides, runs it for ``--duration`` seconds of onboard time and exits with
:data:`EXIT_REBOOT` when the boot application asked for a reboot (``boot.rollback``).

``--timing FILE`` writes the cold-start parts (performance-counter stamps, ns, comparable
between processes on Linux): start, imports done, node composed, first tick, first
housekeeping packet.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

from flight.core import perf_counter_ns

__all__ = ["BOOTSTRAP", "EXIT_REBOOT", "load_stack_config", "main"]

#: Exit status of a stack that asks the selector for a reboot (EX_TEMPFAIL).
EXIT_REBOOT: Final = 75

#: The child's bootstrap: slot code first on the path, and proven to be what runs.
BOOTSTRAP: Final = (
    "import sys\n"
    "site = sys.argv[1]\n"
    "sys.path.insert(0, site)\n"
    "import flight\n"
    "if not flight.__file__.startswith(site):\n"
    "    raise SystemExit('boot: flight comes from ' + flight.__file__ + ', not the slot')\n"
    "from flight.boot._stack import main\n"
    "raise SystemExit(main(sys.argv[2:]))\n"
)


def load_stack_config(path: Path, overrides: dict[str, Any], complete: bool) -> dict[str, Any]:
    """The configuration of a stack: ``path`` (a complete configuration when ``complete``,
    else a file merged over the embedded default) with ``overrides`` merged, validated."""
    from flight.config import default_config, merge, validate
    from native.errors import ConfigError

    try:
        text = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        cfg = text if complete else merge(default_config(), text)
        cfg = merge(cfg, overrides)
        validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg


def main(argv: list[str]) -> int:
    """Run the stack: ``--config FILE [--complete] --out DIR --duration S [--speed X]
    [--overrides JSON] [--timing FILE]``. Exit 0 after the duration, EXIT_REBOOT on a
    reboot request, 2 on a configuration error."""
    import argparse

    t_start = perf_counter_ns()
    p = argparse.ArgumentParser(prog="flight-stack")
    p.add_argument("--config", required=True)
    p.add_argument("--complete", action="store_true")
    p.add_argument("--out", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--speed", type=float)
    p.add_argument("--overrides", default="{}")
    p.add_argument("--timing")
    args = p.parse_args(argv)

    from flight.node import Node, NodeOptions
    from native.errors import SatnodeError

    t_imports = perf_counter_ns()
    stamps: dict[str, int] = {"start": t_start, "imports": t_imports}

    def sink(packet: bytes) -> None:
        # PUS secondary header: service type is the 8th octet (after the 6-octet primary
        # header and the version/time-reference octet)
        if "first_hk" not in stamps and len(packet) > 7 and packet[7] == 3:
            stamps["first_hk"] = perf_counter_ns()

    try:
        cfg = load_stack_config(Path(args.config), json.loads(args.overrides), args.complete)
        node = Node(
            cfg,
            NodeOptions(
                out_dir=Path(args.out),
                speed=args.speed,
                fresh_params=False,
                extra_sinks=[sink],
            ),
        )
    except SatnodeError as exc:
        print(f"flight stack: error: {exc}", file=sys.stderr)
        return 2
    stamps["composed"] = perf_counter_ns()
    app = node.apps.get("boot")

    def observe(_t_ns: int) -> None:
        stamps.setdefault("first_tick", perf_counter_ns())
        if app is not None and getattr(app, "reboot_requested", False):
            node.request_stop()

    node.add_observer(observe)
    reboot = False
    try:
        summary = node.run(args.duration)
        node.write_summary(summary)
        reboot = bool(app is not None and getattr(app, "reboot_requested", False))
    finally:
        node.close()
        if args.timing:
            Path(args.timing).write_text(json.dumps(stamps))
    return EXIT_REBOOT if reboot else 0
