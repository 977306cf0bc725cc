"""The ``[adcs]`` configuration section."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from native.errors import ConfigError

__all__ = ["Config", "parse_config"]

#: Highest step rate accepted (Hz): the unit is commanded, not closed-loop controlled, here.
MAX_RATE_HZ = 100.0


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[adcs]`` section.

    ``attitude``: name of the HAL device of family ``attitude`` (configured under
    ``[devices.<name>]``). ``rate_hz``: step rate (Hz, in (0, 100], must divide the
    executive's base rate): each step applies the pointing requests received since the last,
    reads the unit and publishes :class:`~flight.messages.AttitudeStatus`.
    """

    attitude: str = "attitude"
    rate_hz: float = 1.0


def parse_config(table: Mapping[str, Any]) -> Config:
    """Build a :class:`Config` from the ``[adcs]`` table; ConfigError naming ``[adcs] key``
    for an unknown key, a wrong type or a value out of range."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[adcs] must be a table, got {type(table).__name__}")
    known = {f.name for f in fields(Config)}
    for key in table:
        if key not in known:
            raise ConfigError(f"[adcs] {key}: unknown key (keys: {', '.join(sorted(known))})")
    cfg = Config()
    attitude = table.get("attitude", cfg.attitude)
    if not isinstance(attitude, str) or not attitude:
        raise ConfigError(f"[adcs] attitude: must be a device name, got {attitude!r}")
    rate = table.get("rate_hz", cfg.rate_hz)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise ConfigError(f"[adcs] rate_hz: must be a number, got {rate!r}")
    rate = float(rate)
    if not math.isfinite(rate) or not 0.0 < rate <= MAX_RATE_HZ:
        raise ConfigError(f"[adcs] rate_hz: {rate!r} is outside (0, {MAX_RATE_HZ}] Hz")
    return Config(attitude=attitude, rate_hz=rate)
