"""The ``[boot]`` configuration section: the health gate (a :mod:`native.schema` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native import schema
from native.schema import setting

__all__ = ["Config", "parse_config"]


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[boot]`` section, installed by ``satnode boot``/``fly`` configurations.

    ``storage``: the HAL NV storage holding the boot record (a ``[devices.<name>]`` of family
    ``storage``; on a target, its ``nv`` directory). ``health_gate_s``: how long FDIR must
    stay NOMINAL, with telemetry flowing and no unexpected reset, before the running slot is
    marked good (s). ``rate_hz``: step rate of the gate. ``slot``: the slot this stack runs
    from ("" = the one the boot record says the selector started).
    """

    storage: str = setting("bootnv", min_len=1, doc="NV storage device holding the boot record")
    health_gate_s: float = setting(
        60.0, lo=0, lo_open=True, hi=86400.0, units="s", doc="FDIR NOMINAL this long to mark good"
    )
    rate_hz: float = setting(1.0, lo=0, lo_open=True, hi=10.0, units="Hz", doc="gate step rate")
    slot: str = setting("", doc="slot this stack runs from ('' = the record's current slot)")


def parse_config(table: Mapping[str, Any]) -> Config:
    """Check the ``[boot]`` table against :class:`Config` (ConfigError naming the key)."""
    cfg = schema.parse(Config, table, "boot")
    if cfg.slot not in ("", "A", "B", "factory"):
        from native.errors import ConfigError

        raise ConfigError(f"[boot] slot: must be 'A', 'B', 'factory' or '', got {cfg.slot!r}")
    return cfg
