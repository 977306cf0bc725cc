"""Benchmark the CCSDS/PUS codec against spacepackets: pack/unpack rates, medians and ratios.

Usage::

    python bench/bench_tmtc.py [--quick] [--json FILE]

The measurements live in :func:`flight.tmtc._bench.run` (re-exported here as :func:`run`), so
``satnode bench`` can call them without this script. Ratios are ours/peer: above 1 means
satnode is faster. The goal for TM pack and unpack of housekeeping-sized packets is >= 10x.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

from flight.tmtc._bench import run
from flight.tmtc._crc import crc_extension_status
from native.bench._record import BenchRecord

__all__ = ["main", "run"]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _table(records: list[BenchRecord]) -> str:
    rows = [("name", "ours", "unit", "peer", "peer value", "ratio")]
    for r in records:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else "-"
        rows.append((r.name, _fmt(r.value), r.unit, r.peer or "-", _fmt(r.peer_value), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a table and optionally writes JSON records."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer packets and repeats")
    parser.add_argument("--json", metavar="FILE", help="write the records as JSON to FILE")
    args = parser.parse_args(argv)
    records = run(quick=args.quick)
    print(f"# {crc_extension_status()}; Python {platform.python_version()}")
    print(_table(records))
    for r in records:
        if r.note:
            print(f"  {r.name}: {r.note}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([r.as_dict() for r in records], fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
