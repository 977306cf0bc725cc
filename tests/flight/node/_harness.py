"""A node on the simulated world for end-to-end tests, with a 2 kW compute load.

The load stands in for the AI executor: it keeps the accelerator busy in its HIGH mode
(2 kW in the default device table) whenever the compute rail is powered, so the power and
thermal applications see the payload the issue specifies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flight.apps import APPLICATIONS
from flight.config import merge
from flight.core import Component
from flight.node import Node
from flight.testing import build_node, node_config
from hal import Accelerator
from hal.registry import get_device
from native.errors import HalError

#: RAAN (deg) giving beta ~ 0 at the default epoch (2025-06-01) for i = 53 deg.
RAAN_BETA0_DEG = 51.5
ORBIT_S = 5739.0
APP_NAMES = {spec.section for spec in APPLICATIONS}


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
    """A node of the power, thermal, FDIR, environment and attitude apps on a beta ~ 0 orbit
    (these tests are about power, thermal and FDIR), with the 2 kW load when ``load``."""
    cfg = node_config(
        merge({"world": {"orbit": {"raan_deg": RAAN_BETA0_DEG}}}, overrides or {}),
        apps=[a for a in ("environment", "power", "thermal", "fdir", "adcs") if a in APP_NAMES],
    )
    node: Node = build_node(tmp, cfg, scenario=scenario)
    if load:
        acc = get_device(node.backend, "accel", Accelerator)
        node.executive.add(ComputeLoad(acc), 1.0)
    return node
