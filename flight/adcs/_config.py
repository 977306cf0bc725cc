"""The ``[adcs]`` configuration section (a :mod:`native.schema` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native import schema
from native.schema import setting

__all__ = ["MAX_RATE_HZ", "Config", "parse_config"]

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

    attitude: str = setting(
        "attitude", min_len=1, doc="HAL attitude unit (a [devices.<name>] of family 'attitude')"
    )
    rate_hz: float = setting(
        1.0,
        lo=0,
        lo_open=True,
        hi=MAX_RATE_HZ,
        units="Hz",
        doc="step rate: pointing requests applied, unit read, AttitudeStatus published",
    )


def parse_config(table: Mapping[str, Any]) -> Config:
    """Check the ``[adcs]`` table against :class:`Config` and build it (ConfigError naming
    ``[adcs] <key>`` for an unknown key, a wrong type or a value out of range)."""
    return schema.parse(Config, table, "adcs")
