"""satnode's benchmark suites and their runner (``satnode bench``, ``bench/bench_native.py``).

Each suite is a module ``ground.bench.<name>`` with ``run(quick: bool) -> list[BenchRecord]``
that measures satnode against a peer in the same run (medians, single thread). The runner
collects them; :func:`format_table` prints them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ground.bench.record import BenchRecord, median_seconds, throughput_record
from native.errors import ConfigError

__all__ = [
    "SUITES",
    "BenchRecord",
    "bench_main",
    "format_table",
    "median_seconds",
    "run_all",
    "throughput_record",
]

#: Known suites, in run order. ``orbit`` (physics kernels) is optional: skipped when absent
#: unless asked for by name.
SUITES: tuple[str, ...] = ("kernels", "orbit")
_REQUIRED = {"kernels"}


def run_all(quick: bool, suites: Iterable[str] | None = None) -> list[BenchRecord]:
    """Run the benchmark suites and return all records.

    ``suites=None`` runs every known suite that is importable (``kernels`` must be); a suite
    named explicitly must exist, else :class:`~native.errors.ConfigError`.
    """
    explicit = suites is not None
    names = list(SUITES if suites is None else suites)
    records: list[BenchRecord] = []
    for name in names:
        if name not in SUITES:
            raise ConfigError(f"unknown benchmark suite {name!r}; known: {', '.join(SUITES)}")
        module_name = f"ground.bench.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name or explicit or name in _REQUIRED:
                raise
            continue
        records.extend(module.run(quick))
    return records


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value < 1 else f"{value:.2f}"


def format_table(records: Sequence[BenchRecord]) -> str:
    """A plain-text table: name, our value and unit, peer, peer value, ratio (x), note."""
    header = ("benchmark", "ours", "unit", "peer", "peer value", "ratio", "note")
    rows = [header]
    for r in records:
        rows.append(
            (
                r.name,
                _fmt(r.value),
                r.unit,
                r.peer or "-",
                _fmt(r.peer_value),
                "-" if r.ratio is None else f"{r.ratio:.1f}x",
                r.note,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            row[i].rjust(widths[i]) if i in (1, 4, 5) else row[i].ljust(widths[i])
            for i in range(len(header) - 1)
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)


def bench_main(
    run: Callable[[bool], list[BenchRecord]],
    description: str,
    argv: list[str] | None = None,
    header: Callable[[], str] | None = None,
) -> int:
    """The command line every ``bench/*.py`` script shares: ``--quick`` and ``--json FILE``.

    Runs ``run(quick)``, prints ``header()`` (if given) and :func:`format_table`, and writes
    the records as JSON (``{name, value, unit, peer, peer_value, ratio, note}``) on request.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="reduced sizes, fewer repeats")
    parser.add_argument("--json", metavar="FILE", help="write the records as JSON to FILE")
    args = parser.parse_args(argv)
    records = run(args.quick)
    if header is not None:
        print(header())
    print(format_table(records))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in records], indent=2))
    return 0
