"""A node on the simulated world for end-to-end tests, with a 2 kW compute load.

The load stands in for the AI executor: it keeps the accelerator busy in its HIGH mode
(2 kW in the default device table) whenever the compute rail is powered, so the power and
thermal applications see the payload the issue specifies.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from flight._config import load_config, merge
from flight.core import Component
from flight.node import Node, NodeOptions
from hal import Accelerator
from hal.registry import get_device
from native.errors import HalError

#: RAAN (deg) giving beta ~ 0 at the default epoch (2025-06-01) for i = 53 deg.
RAAN_BETA0_DEG = 51.5
ORBIT_S = 5739.0


class ComputeLoad(Component):
    """Keeps the accelerator computing in HIGH mode (modelled 30 s jobs)."""

    def __init__(self, accelerator: Accelerator) -> None:
        super().__init__("load", 40)
        self.acc = accelerator
        self.job: int | None = None

    def step(self, t_ns: int) -> None:
        try:
            if self.acc.read().mode.value != "HIGH":
                self.acc.set_mode("HIGH")
            if self.job is None or self.acc.result(self.job) is not None:
                self.job = self.acc.submit(lambda: 0, ops=1200e12 * 30)
        except HalError:
            self.job = None  # rail shed or accelerator off: try again next step


def make_node(
    tmp: Path,
    overrides: dict[str, Any] | None = None,
    scenario: str | None = None,
    load: bool = True,
) -> Node:
    cfg = merge(
        load_config(None),
        {"world": {"orbit": {"raan_deg": RAAN_BETA0_DEG}}, "tmtc": {"ground_link": False}},
    )
    for section in ("compute", "edac", "gnc", "isl"):
        cfg.pop(section, None)  # these tests are about power, thermal and FDIR
    if overrides:
        cfg = merge(cfg, overrides)
    scenario_path = None
    if scenario is not None:
        scenario_path = tmp / "scenario.toml"
        scenario_path.write_text(textwrap.dedent(scenario))
    node = Node(cfg, NodeOptions(out_dir=tmp / "out", scenario=scenario_path))
    if load:
        acc = get_device(node.backend, "accel", Accelerator)
        node.executive.add(ComputeLoad(acc), 1.0)
    return node
