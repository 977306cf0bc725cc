"""The ``[filexfer]`` configuration section: the onboard CFDP entity (a :mod:`native.schema`
section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native import schema
from native.schema import setting

__all__ = ["Config", "parse_config"]


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[filexfer]`` section: where uplinked images are staged and installed.

    ``staging``: the HAL NV storage holding the transaction state and every received segment
    (one blob each, so what arrived survives a pass end or a reset). ``nv`` and ``slots``: the
    boot record/trust storage and the slot storage of the target (the same devices the boot
    selector uses). ``model``: this target's model name (images must name it).
    ``entity_id``: this CFDP entity's id. ``max_file_bytes``: the largest file accepted (B).
    ``utc_at_zero_s``: UTC (s) at onboard time zero, from time correlation: the image expiry
    is checked against it plus onboard time.
    """

    staging: str = setting("nvm", min_len=1, doc="NV storage device for received segments")
    nv: str = setting("bootnv", min_len=1, doc="NV storage with the boot record and trusted keys")
    slots: str = setting("bootslots", min_len=1, doc="storage holding the slot images")
    model: str = setting("satnode-fc", min_len=1, doc="this target's model name")
    entity_id: int = setting(2, lo=1, hi=0xFFFF, doc="local CFDP entity id")
    max_file_bytes: int = setting(
        64 << 20, lo=1, hi=1 << 31, units="B", doc="largest file a transfer may announce"
    )
    utc_at_zero_s: float = setting(
        0.0, lo=0.0, hi=1e10, units="s", doc="UTC at onboard time zero (time correlation)"
    )


def parse_config(table: Mapping[str, Any]) -> Config:
    """Check the ``[filexfer]`` table against :class:`Config` (ConfigError naming the key)."""
    return schema.parse(Config, table, "filexfer")
