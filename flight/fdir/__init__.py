"""FDIR: table-driven monitoring (PUS-12 style), event-action (PUS-19 style), the mode manager
(BOOT, SAFE, RECOVERY, NOMINAL), the boot counter and reset escalation.

``install(node, section)`` adds the :class:`FdirManager`; see :class:`FdirConfig` and
:class:`MonitorDef` for the ``[fdir]`` keys.
"""

from __future__ import annotations

from typing import Any

from flight._sections import parse_section
from flight.fdir._manager import Detection, FdirConfig, FdirManager
from flight.fdir._monitor import ACTIONS, MonitorDef, MonitorState, read_source
from native.errors import ConfigError

__all__ = [
    "ACTIONS",
    "Detection",
    "FdirApp",
    "FdirConfig",
    "FdirManager",
    "MonitorDef",
    "MonitorState",
    "install",
    "parse_config",
    "read_source",
]


def parse_config(section: dict[str, Any]) -> FdirConfig:
    """Build an :class:`FdirConfig`, naming any unknown or invalid key."""
    monitors = []
    for i, m in enumerate(section.get("monitors", [])):
        mon = parse_section(MonitorDef, m, f"[[fdir.monitors]] #{i}")
        if mon.kind not in ("limit", "baseline") or mon.action not in ACTIONS:
            raise ConfigError(
                f"monitor {mon.name}: kind must be limit|baseline, action one of {ACTIONS}"
            )
        if mon.persistence < 1 or "." not in mon.source:
            raise ConfigError(
                f"monitor {mon.name}: persistence >= 1 and source 'Type.field' required"
            )
        monitors.append(mon)
    return parse_section(FdirConfig, section, "[fdir]", monitors=monitors)


class FdirApp:
    """FDIR as the node keeps it."""

    def __init__(self, manager: FdirManager) -> None:
        self.manager = manager

    def summary(self) -> dict[str, Any]:
        """The ``fdir`` section of summary.json (``modes`` is added at the top level too)."""
        m = self.manager
        return {
            "detections": [
                {"t_s": d.t_s, "monitor": d.monitor, "value": d.value, "action": d.action}
                for d in m.detections
            ],
            "mode_final": m.mode.name,
            "boot_count": m.hk.boot_count,
            "latched": m.latched,
            "seconds_in": dict(m.seconds_in),
            "mode_log": m.mode_log,
        }


def install(node: Any, section: dict[str, Any]) -> FdirApp:
    """Add the FDIR manager to ``node``."""
    cfg = parse_config(section)
    manager = FdirManager(cfg)
    node.executive.add(manager, cfg.rate_hz)
    return FdirApp(manager)
