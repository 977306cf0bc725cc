"""Platform interfaces: hardware watchdog and non-volatile storage.

The watchdog resets the flight computer when it is not kicked within its timeout. After the
reset, ``read().reset_reason`` tells why the computer (re)started, so that flight's reset
escalation can count watchdog resets.

Storage keeps named blobs across resets and power cycles. A write is atomic: after a reset or
power loss the blob has either its old or its new content, never a mixture.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal._common import Device

__all__ = [
    "BLOB_NAME_PATTERN",
    "ResetReason",
    "Storage",
    "StorageReading",
    "Watchdog",
    "WatchdogReading",
]


@enum.unique
class ResetReason(enum.IntEnum):
    """Why the flight computer last started."""

    POWER_ON = 0  #: cold start
    WATCHDOG = 1  #: the hardware watchdog expired
    COMMANDED = 2  #: software or ground commanded a reset
    UNKNOWN = 3


@dataclass(frozen=True, slots=True)
class WatchdogReading:
    """Watchdog state."""

    t_ns: int
    valid: bool
    armed: bool
    timeout_s: float  #: current timeout, s (0 when never armed)
    remaining_s: float  #: time until expiry, s (inf when disarmed, 0 once expired)
    expired: bool  #: the timeout elapsed since the last kick (latched until the reset)
    reset_reason: ResetReason  #: cause of the last start of the flight computer


@runtime_checkable
class Watchdog(Device, Protocol):
    """Hardware watchdog timer (family ``watchdog``)."""

    @property
    def timeout_range_s(self) -> tuple[float, float]:
        """(min, max) timeout accepted by :meth:`arm` (s)."""
        ...

    def arm(self, timeout_s: float) -> None:
        """Start (or restart) the watchdog with ``timeout_s``; out of range ->
        DeviceCommandError."""
        ...

    def kick(self) -> None:
        """Stroke the watchdog: restart the timeout. DeviceCommandError when not armed;
        DeviceFaultError once expired (too late: the reset is under way)."""
        ...

    def disarm(self) -> None:
        """Stop the watchdog (DeviceCommandError if the hardware is configured to forbid it,
        or once it expired)."""
        ...

    def read(self) -> WatchdogReading:
        """Watchdog state."""
        ...


#: Blob names: 1..64 characters of letters, digits, ``_``, ``-`` and ``.``, not starting
#: with ``.`` (so that a directory-backed store cannot escape its directory).
BLOB_NAME_PATTERN = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class StorageReading:
    """Storage usage."""

    t_ns: int
    valid: bool
    used_bytes: int
    capacity_bytes: int
    blobs: int  #: number of stored blobs


@runtime_checkable
class Storage(Device, Protocol):
    """Non-volatile storage of named blobs (family ``storage``)."""

    @property
    def capacity_bytes(self) -> int:
        """Total payload capacity (bytes)."""
        ...

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` atomically (replacing any previous blob).

        Bad name or not enough space -> DeviceCommandError (nothing changed)."""
        ...

    def read(self, name: str) -> bytes:
        """Content of blob ``name``; DeviceCommandError if there is none."""
        ...

    def list(self) -> tuple[str, ...]:
        """Names of all blobs, sorted."""
        ...

    def delete(self, name: str) -> None:
        """Remove blob ``name``; DeviceCommandError if there is none."""
        ...

    def status(self) -> StorageReading:
        """Usage figures (the storage's timestamped reading)."""
        ...
