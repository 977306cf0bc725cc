"""The ``[security]`` configuration section (a :mod:`native.schema` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flight.tmtc import DEFAULT_WINDOW
from native import schema
from native.errors import ConfigError
from native.schema import setting

__all__ = ["Config", "parse_config"]


@dataclass(frozen=True, slots=True)
class Config:
    """The ``[security]`` section: the authenticated uplink (SDLS on TC frames).

    ``required`` (default true): the uplink accepts only TC frames that pass SDLS
    verification; false also accepts bare PUS packets (a bench, never a spacecraft).
    ``storage``: the HAL NV storage device holding the keys, SA states and counters ('' only
    when not required). ``scid``: the spacecraft id TC frames must carry. ``window``: the
    anti-replay window of every SA. ``provision``: a key file (``satnode-keys/1``) loaded into
    an empty key store at first boot: development runs only (``satnode sim`` writes it; a
    flight image must not name one). ``reject_event_s``: at most one rejection event per
    this many onboard seconds. ``downlink_frames``: carry the TM packets on the UDP downlink
    in CCSDS TM frames (132.0) instead of one packet per datagram.
    """

    required: bool = setting(True, doc="accept only SDLS-verified TC frames (false: bare TCs too)")
    storage: str = setting("nvm", doc="HAL NV storage device of the key store ('' = none)")
    scid: int = setting(42, lo=0, hi=1023, doc="spacecraft id of the TC and TM frames")
    window: int = setting(
        DEFAULT_WINDOW, lo=1, hi=1000, doc="anti-replay window W: accept (last, last + W]"
    )
    provision: str = setting(
        "", doc="development key file loaded into an empty key store at first boot"
    )
    reject_event_s: float = setting(
        10.0, lo=0.1, hi=86400.0, units="s", doc="least onboard time between rejection events"
    )
    downlink_frames: bool = setting(False, doc="TM frames (CCSDS 132.0) on the UDP downlink")
    tm_frame_len: int = setting(1024, lo=64, hi=2047, units="octets", doc="TM frame length")

    def validate(self) -> None:
        """Security required needs an NV storage device for keys and counters."""
        if self.required and not self.storage:
            raise ConfigError("storage: security is required, so an NV storage device is needed")


def parse_config(table: Mapping[str, Any]) -> Config:
    """Check the ``[security]`` table against :class:`Config` and build it (ConfigError
    naming ``[security] <key>``)."""
    return schema.parse(Config, table, "security")
