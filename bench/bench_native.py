"""Run satnode's native benchmark suites and print the table (medians; ratio > 1: faster).

python bench/bench_native.py            # full run (tens of seconds, ~1.5 GB RAM)
python bench/bench_native.py --quick    # small buffers, a few seconds
python bench/bench_native.py --json out/bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ground.bench import SUITES, format_table, run_all


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small buffers, seconds in total")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write records as JSON")
    parser.add_argument(
        "--suite", action="append", choices=SUITES, help="run only this suite (repeatable)"
    )
    args = parser.parse_args(argv)
    records = run_all(quick=args.quick, suites=args.suite)
    sys.stdout.write(format_table(records) + "\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.as_dict() for r in records], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
