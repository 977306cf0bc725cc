"""``satnode faults``: fault-injection campaigns (``seu``: upsets in EDAC-protected memory).

Wired into :mod:`ground.cli` by :func:`add_faults_parser`. The campaign's wall time comes
from the clock module's performance counter.

``satnode faults seu [--injections N] [--bits 1,2,3] [--seed S] [--json FILE]`` runs
:func:`ground.campaigns.run_seu_campaign` (``N`` injections per bit count, default 100,000), prints
the classification with 95 % Wilson intervals, the acceptance checks and the expected in-orbit
rates, and exits 0 when every acceptance check passes, 1 otherwise (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flight.core import perf_counter_ns
from native.errors import ConfigError

__all__ = ["add_faults_parser", "cmd_faults_seu", "parse_bits"]


def parse_bits(text: str) -> tuple[int | str, ...]:
    """``"1,2,3,world"`` -> ``(1, 2, 3, "world")``: bits per word in 1..72 or a world-model
    kind (``world``, ``mbu``), no duplicates (ConfigError otherwise)."""
    from ground.campaigns import WORLD_KINDS

    values: list[int | str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part in WORLD_KINDS:
            values.append(part)
            continue
        try:
            values.append(int(part))
        except ValueError:
            raise ConfigError(
                f"--bits must be comma-separated integers or {', '.join(WORLD_KINDS)}, "
                f"got {text!r}"
            ) from None
    if not values:
        raise ConfigError("--bits is empty")
    ints = [v for v in values if isinstance(v, int)]
    if len(set(values)) != len(values) or any(not 1 <= v <= 72 for v in ints):
        raise ConfigError(f"--bits must be distinct values in 1..72 or kinds, got {text!r}")
    return tuple(values)


def cmd_faults_seu(args: argparse.Namespace) -> int:
    """Run the SEU campaign; print the report; 0 if every acceptance check passed, else 1."""
    from ground.campaigns import format_campaign, run_seu_campaign

    if args.injections < 1:
        raise ConfigError(f"--injections must be >= 1, got {args.injections}")
    bits = parse_bits(args.bits)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            sys.stderr.write(f"\r{done}/{total} batches")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    t0 = perf_counter_ns()
    report = run_seu_campaign(
        args.injections, bits, args.seed, interleave=args.interleave, progress=progress
    )
    wall = (perf_counter_ns() - t0) / 1e9
    print(format_campaign(report))
    total = report.injections_per_bit * len(report.results)
    print(f"{total} injections in {wall:.2f} s ({total / wall:,.0f} per second)")
    if args.json:
        doc: dict[str, Any] = report.as_dict()
        doc["wall_seconds"] = wall
        Path(args.json).write_text(json.dumps(doc, indent=2))
    return 0 if report.passed else 1


def add_faults_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``faults`` (with its ``seu`` campaign) to the ``satnode`` sub-command parsers."""
    faults: argparse.ArgumentParser = subparsers.add_parser(
        "faults", help="fault-injection campaigns"
    )
    kinds = faults.add_subparsers(dest="campaign", required=True)
    seu = kinds.add_parser(
        "seu", help="inject upsets into EDAC-protected memory and classify the outcomes"
    )
    seu.add_argument(
        "--injections", type=int, default=100_000, help="injections per bit count (default 100000)"
    )
    seu.add_argument(
        "--bits",
        default="1,2,3,world",
        help="bits flipped per 72-bit word, or 'world' (upsets as the simulated world draws "
        "them, 1.4%% flipping two adjacent bits) or 'mbu' (only such pairs), comma-separated "
        "(default 1,2,3,world)",
    )
    seu.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    seu.add_argument(
        "--interleave",
        type=int,
        choices=(1, 8),
        default=8,
        help="bit interleaving of the regions, words per group (default 8, as [edac])",
    )
    seu.add_argument("--json", help="write the full report to this JSON file")
    seu.set_defaults(func=cmd_faults_seu)
    from ground.boot_cli import add_power_cut_parser

    add_power_cut_parser(kinds)
    return faults
