"""The ``[fdir]`` configuration section: its schema and its checked parser.

Every key is checked for type, finiteness and range, and the monitoring table for consistency
(unique names, a limit row with at least one threshold and ``low <= high``, a baseline row
without thresholds), so that a configuration FDIR cannot honour is refused before the run
with a :class:`~native.errors.ConfigError` that names the section, the row and the key.
Sources are checked against the node's bus message types at install
(:func:`flight.fdir.resolve_source`), because only the node knows every message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flight._sections import parse_section
from flight.fdir._monitor import ACTIONS, KINDS, MonitorDef
from native.errors import ConfigError

__all__ = ["MAX_HISTORY", "MAX_MONITORS", "MAX_PERSISTENCE", "FdirConfig", "parse_config"]

#: Rows of the monitoring table: the commands address a row with a U8 index 0..63.
MAX_MONITORS = 64
#: Largest persistence (steps), the range of the ``set_persistence`` command.
MAX_PERSISTENCE = 3600
#: Largest ring of recent detections and mode changes kept for the summary (entries).
MAX_HISTORY = 4096
#: Largest time constant accepted (s): a year; anything longer is a typo, not a design.
_MAX_SECONDS = 366.0 * 86400.0


@dataclass(slots=True)
class FdirConfig:
    """The ``[fdir]`` section (times in s, rates in Hz, SoC as a fraction 0..1)."""

    boot_s: float = 10.0  #: quiet time in BOOT before NOMINAL
    clear_s: float = 60.0  #: quiet time in SAFE before RECOVERY
    recovery_s: float = 60.0  #: quiet time in RECOVERY before NOMINAL
    stable_s: float = 600.0  #: time in NOMINAL after which the boot counter is cleared
    resume_soc: float = 0.45  #: SoC needed to leave SAFE
    max_boots: int = 3  #: starts without a stable NOMINAL that latch SAFE
    stale_s: float = 10.0  #: a monitored bus message older than this is unknown
    rate_hz: float = 1.0
    history: int = 64  #: recent detections and mode changes kept (rings of this length)
    monitors: list[MonitorDef] = field(default_factory=list)


def _number(table: dict[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    """``table[key]`` as a finite float in [lo, hi] (ints accepted, booleans refused)."""
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} {key}: must be a number, got {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"{where} {key}: must be finite and in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _integer(table: dict[str, Any], key: str, where: str, lo: int, hi: int) -> int:
    """``table[key]`` as an int in [lo, hi] (booleans and floats refused)."""
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} {key}: must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where} {key}: must be in [{lo}, {hi}], got {value!r}")
    return value


def _choice(table: dict[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = table[key]
    if value not in allowed:
        raise ConfigError(f"{where} {key}: must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _parse_monitor(entry: Any, index: int) -> MonitorDef:
    """One ``[[fdir.monitors]]`` row, checked (the source's existence is checked at install)."""
    where = f"[[fdir.monitors]] #{index}"
    mon = parse_section(MonitorDef, entry, where)  # unknown or missing keys
    row: dict[str, Any] = entry
    if not isinstance(mon.name, str) or not mon.name:
        raise ConfigError(f"{where} name: must be a non-empty string, got {mon.name!r}")
    where = f"[[fdir.monitors]] {mon.name!r}"
    if not isinstance(mon.source, str) or "." not in mon.source:
        raise ConfigError(f"{where} source: must be 'Type.field', got {mon.source!r}")
    mon.kind = _choice(row, "kind", where, KINDS) if "kind" in row else mon.kind
    mon.action = _choice(row, "action", where, ACTIONS) if "action" in row else mon.action
    if "persistence" in row:
        mon.persistence = _integer(row, "persistence", where, 1, MAX_PERSISTENCE)
    if "enabled" in row and not isinstance(row["enabled"], bool):
        raise ConfigError(f"{where} enabled: must be true or false, got {row['enabled']!r}")
    for key in ("low", "high"):
        if key in row:
            setattr(mon, key, _number(row, key, where, -math.inf, math.inf))
    if mon.kind == "limit":
        if mon.low is None and mon.high is None:
            raise ConfigError(f"{where}: a limit monitor needs low, high or both")
        if mon.low is not None and mon.high is not None and mon.low > mon.high:
            raise ConfigError(f"{where}: low ({mon.low:g}) must be <= high ({mon.high:g})")
    elif mon.low is not None or mon.high is not None:
        raise ConfigError(f"{where}: a baseline monitor takes no low or high")
    return mon


def parse_config(table: Any) -> FdirConfig:
    """Build the checked :class:`FdirConfig` of an ``[fdir]`` table (ConfigError naming the
    key otherwise; nothing is built from a bad table)."""
    if not isinstance(table, dict):
        raise ConfigError("[fdir] must be a table")
    rows = table.get("monitors", [])
    if not isinstance(rows, list):
        raise ConfigError("[fdir] monitors: must be an array of tables ([[fdir.monitors]])")
    if len(rows) > MAX_MONITORS:
        raise ConfigError(f"[fdir] monitors: at most {MAX_MONITORS} rows, got {len(rows)}")
    monitors = [_parse_monitor(row, i) for i, row in enumerate(rows)]
    seen: set[str] = set()
    for mon in monitors:
        if mon.name in seen:
            raise ConfigError(f"[[fdir.monitors]] {mon.name!r}: name used twice")
        seen.add(mon.name)
    cfg = parse_section(FdirConfig, table, "[fdir]", monitors=monitors)
    where = "[fdir]"
    for key in ("boot_s", "clear_s", "recovery_s", "stable_s"):
        if key in table:
            setattr(cfg, key, _number(table, key, where, 0.0, _MAX_SECONDS))
    if "stale_s" in table:
        cfg.stale_s = _number(table, "stale_s", where, 1e-3, _MAX_SECONDS)
    if "resume_soc" in table:
        cfg.resume_soc = _number(table, "resume_soc", where, 0.0, 1.0)
    if "rate_hz" in table:
        # the executive checks that the rate divides its base rate
        cfg.rate_hz = _number(table, "rate_hz", where, 1e-6, 1e6)
    if "max_boots" in table:
        cfg.max_boots = _integer(table, "max_boots", where, 1, 65535)
    if "history" in table:
        cfg.history = _integer(table, "history", where, 1, MAX_HISTORY)
    return cfg
