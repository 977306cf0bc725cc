"""FDIR: table-driven monitoring (PUS-12 style), event-action (PUS-19 style), the mode manager
(BOOT, SAFE, RECOVERY, NOMINAL), the boot counter and reset escalation.

The application contract (:mod:`flight.core`'s ``InstallContext``):

- :class:`Config` (= :class:`FdirConfig`): the ``[fdir]`` section, with its monitoring table
  of :class:`MonitorDef` rows;
- :func:`parse_config` ``(table) -> Config``: the :mod:`native.schema` section (types,
  ranges, units, relations; ``[[fdir.monitors]]`` rows are unique by name, so a user's file
  merges them by name);
- :func:`install` ``(ctx, cfg) -> FdirApp``: resolves each monitor's ``source``
  (``"Type.field"``) through ``ctx.message_types``, so any application's bus message can be
  monitored by configuration, and adds the :class:`FdirManager` (component ``fdir``).
"""

from __future__ import annotations

from flight.fdir._app import COMPONENT, FdirApp, install
from flight.fdir._config import MAX_HISTORY, MAX_MONITORS, FdirConfig, parse_config
from flight.fdir._manager import Detection, FdirManager, ModeChange
from flight.fdir._monitor import (
    ACTIONS,
    KINDS,
    MAX_PERSISTENCE,
    MonitorDef,
    MonitorState,
    read_source,
    resolve_source,
)

#: The application's configuration schema (the contract's name for :class:`FdirConfig`).
Config = FdirConfig

__all__ = [
    "ACTIONS",
    "COMPONENT",
    "KINDS",
    "MAX_HISTORY",
    "MAX_MONITORS",
    "MAX_PERSISTENCE",
    "Config",
    "Detection",
    "FdirApp",
    "FdirConfig",
    "FdirManager",
    "ModeChange",
    "MonitorDef",
    "MonitorState",
    "install",
    "parse_config",
    "read_source",
    "resolve_source",
]
