"""The parameter table lives in EDAC-protected memory in a whole node: after a processor
reset the values come back from the protected image, and an upset in it is corrected.

Oracles: the parameter values set by command before the reset (they must survive it), and
SECDED's guarantee (a single flipped bit in a word is corrected, exhaustively tested in
tests/native against the NumPy reference).
"""

from __future__ import annotations

from pathlib import Path

from flight.core import Component, LoadOutcome
from flight.testing import build_node, node_config


class Broken(Component):
    """Fails every step: restarted, FAILED, then the watchdog resets the computer."""

    def step(self, t_ns: int) -> None:
        raise RuntimeError("corrupted state")


def test_reset_restores_parameters_from_the_protected_image(tmp_path: Path) -> None:
    node = build_node(tmp_path, node_config(apps=["environment", "power", "fdir", "edac"]))
    try:
        node.params.set("power", "soc_floor_frac", 0.33)
        region = node.apps["edac"].regions.region("params")
        data, _checks = region.arrays()
        data[0] ^= 1 << 17  # a single-event upset in the image, before the reset reads it
        node.executive.add(Broken("broken", 99), 1.0)
        summary = node.run(60.0)
    finally:
        node.close()
    assert [r["reason"] for r in summary["resets"]][:1] == ["WATCHDOG"]
    assert node.param_load is not None and node.param_load.outcome is LoadOutcome.IMAGE
    assert node.params.values("power")["soc_floor_frac"] == 0.33
    assert summary["edac"]["regions"]["params"]["uncorrectable"] == 0
