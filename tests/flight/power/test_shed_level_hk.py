"""Power housekeeping reports the shed level in force (issue 19: ``shed_level`` was never
written). Oracle: the rails the PDU reports off, against the configured shedding order."""

from __future__ import annotations

import struct
from pathlib import Path

from flight.testing import build_node, node_config


def test_shed_level_housekeeping_follows_the_rails(tmp_path: Path) -> None:
    node = build_node(tmp_path, node_config(apps=["environment", "power", "fdir"]))
    try:
        power = node.apps["power"].controller
        node.run(5.0)
        for level in (2, 1, 0):
            power.execute(2, struct.pack(">B", level))  # force_shed
            node.run(5.0)
            shed_rails = power.cfg.shed_rails
            rails = {r.name: r.on for r in power.pdu.read().rails}
            off = sum(not rails[name] for name in shed_rails if name in rails)
            assert power.hk.shed_level == int(power.applied)
            assert power.hk.shed_level >= level
            assert off >= power.hk.shed_level
        decl = power.DECLARATION
        values = decl.hk_struct.unpack(power.pack_housekeeping())
        names = [f.name for f in decl.telemetry]
        assert values[names.index("shed_level")] == power.hk.shed_level
    finally:
        node.close()
