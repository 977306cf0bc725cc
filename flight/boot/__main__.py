"""``python -m flight.boot --target DIR --duration S [--speed X]``: the boot selector on a
flight computer that carries only the flight image (no ground tools)."""

from __future__ import annotations

import argparse
import sys

from flight.boot._launch import boot_target
from native.errors import SatnodeError


def main(argv: list[str] | None = None) -> int:
    """Run the selector loop; exit status of the last stack (2 on a satnode error)."""
    p = argparse.ArgumentParser(prog="python -m flight.boot")
    p.add_argument("--target", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--speed", type=float)
    args = p.parse_args(argv)
    try:
        out = boot_target(
            args.target,
            duration_s=args.duration,
            speed=args.speed,
            on_event=lambda m: print(f"boot: {m}", file=sys.stderr, flush=True),
        )
    except SatnodeError as exc:
        print(f"boot: error: {exc}", file=sys.stderr)
        return 2
    return out.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
