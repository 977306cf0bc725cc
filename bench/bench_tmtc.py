"""Benchmark the CCSDS/PUS codec against spacepackets: pack/unpack rates, medians and ratios.

Usage::

    python bench/bench_tmtc.py [--quick] [--json FILE]

The measurements live in :func:`ground.bench.tmtc.run` (re-exported here as :func:`run`), so
``satnode bench`` can call them without this script. Ratios are ours/peer: above 1 means
satnode is faster. The goal for TM pack and unpack of housekeeping-sized packets is >= 10x.
"""

from __future__ import annotations

import platform
import sys

from flight.tmtc import crc_extension_status, pec_kernel_status
from ground.bench import bench_main
from ground.bench.tmtc import run

__all__ = ["main", "run"]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``--quick``, ``--json FILE``)."""

    def header() -> str:
        return (
            f"# {crc_extension_status()}; {pec_kernel_status()}; Python {platform.python_version()}"
        )

    return bench_main(run, __doc__.splitlines()[0], argv, header)


if __name__ == "__main__":
    sys.exit(main())
