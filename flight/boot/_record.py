"""The boot record: which slot boots, what is pending, tries left, what was last good.

It lives in NV storage (blob :data:`RECORD_BLOB`), written atomically by the storage layer
(fsync and rename), and protected by a CRC-32 so that a damaged record is detected, never
believed. Slots are ``A``, ``B`` (the updatable pair) and ``factory``.
"""

from __future__ import annotations

import enum
import json
import struct
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Final

from native.errors import SatnodeError

__all__ = [
    "HISTORY_LEN",
    "MAX_TRIES",
    "RECORD_BLOB",
    "RECORD_SCHEMA",
    "SLOTS",
    "BootRecord",
    "HistoryEntry",
    "RecordError",
    "SlotInfo",
    "SlotState",
    "decode_record",
    "encode_record",
]

RECORD_BLOB: Final = "boot-record"
RECORD_SCHEMA: Final = "satnode-boot/1"
#: Slots, in the order the selector falls back through them after the last good one.
SLOTS: Final = ("A", "B", "factory")
#: Tries of a pending upgrade (the U-Boot/RAUC boot count).
MAX_TRIES: Final = 3
#: Boot history entries kept (the oldest is dropped).
HISTORY_LEN: Final = 16
_CRC: Final = struct.Struct(">I")


class RecordError(SatnodeError):
    """The boot record is missing, damaged or inconsistent."""


@enum.unique
class SlotState(enum.Enum):
    """What a slot holds, as far as the boot record knows."""

    EMPTY = "empty"  #: nothing bootable (or an install under way)
    INSTALLED = "installed"  #: written and verified; on trial while pending
    GOOD = "good"  #: passed the health gate
    BAD = "bad"  #: failed its tries, its verification, or was rolled back from


@dataclass(frozen=True, slots=True)
class SlotInfo:
    """One slot's entry: state, image version and the image file's sha256."""

    state: SlotState = SlotState.EMPTY
    version: int = 0
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One boot-record event: ``kind`` is trial, stable, fallback, good, bad, rollback or
    install; ``boot`` the boot counter at the time."""

    boot: int
    kind: str
    slot: str
    version: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class BootRecord:
    """The whole boot record (immutable: every change makes a new one)."""

    generation: int = 0  #: bumped by every write
    active: str = "factory"  #: the slot booted when no upgrade is pending (last good)
    pending: str | None = None  #: slot of an upgrade on trial
    tries_left: int = 0  #: tries of the pending upgrade left
    last_good: str = "factory"
    floor: int = 0  #: anti-rollback floor: highest version ever marked good
    boots: int = 0  #: boots started by the selector
    current: str | None = None  #: slot the selector started last
    slots: dict[str, SlotInfo] = field(default_factory=lambda: {s: SlotInfo() for s in SLOTS})
    history: tuple[HistoryEntry, ...] = ()

    def slot(self, name: str) -> SlotInfo:
        """The entry of slot ``name``."""
        return self.slots[name]

    def with_slot(self, name: str, info: SlotInfo) -> BootRecord:
        """A copy with slot ``name`` replaced."""
        slots = dict(self.slots)
        slots[name] = info
        return replace(self, slots=slots)

    def note(self, kind: str, slot: str, text: str = "") -> BootRecord:
        """A copy with one history entry appended (the oldest beyond HISTORY_LEN dropped)."""
        entry = HistoryEntry(self.boots, kind, slot, self.slots[slot].version, text)
        return replace(self, history=(*self.history, entry)[-HISTORY_LEN:])

    def check(self) -> None:
        """Consistency rules (RecordError naming the first broken one)."""
        if set(self.slots) != set(SLOTS):
            raise RecordError(f"slots are {sorted(self.slots)}, expected {list(SLOTS)}")
        if self.active not in SLOTS or self.last_good not in SLOTS:
            raise RecordError(f"active {self.active!r} / last_good {self.last_good!r}")
        if self.pending is not None:
            if self.pending not in ("A", "B"):
                raise RecordError(f"pending slot {self.pending!r} is not A or B")
            if self.slots[self.pending].state is not SlotState.INSTALLED:
                raise RecordError(f"pending slot {self.pending} is not in state installed")
            if not 0 <= self.tries_left <= MAX_TRIES:
                raise RecordError(f"tries_left {self.tries_left} outside 0..{MAX_TRIES}")
        if self.current is not None and self.current not in SLOTS:
            raise RecordError(f"current slot {self.current!r}")
        if self.floor < 0 or self.boots < 0 or self.generation < 0:
            raise RecordError("negative counter")

    def as_dict(self) -> dict[str, Any]:
        """JSON form (also what ``satnode target status --json`` prints)."""
        return {
            "schema": RECORD_SCHEMA,
            "generation": self.generation,
            "active": self.active,
            "pending": self.pending,
            "upgrade_pending": self.pending is not None,
            "tries_left": self.tries_left,
            "last_good": self.last_good,
            "floor": self.floor,
            "boots": self.boots,
            "current": self.current,
            "slots": {
                k: {"state": v.state.value, "version": v.version, "sha256": v.sha256}
                for k, v in self.slots.items()
            },
            "history": [
                {"boot": h.boot, "kind": h.kind, "slot": h.slot, "version": h.version,
                 "note": h.note}
                for h in self.history
            ],
        }  # fmt: skip


def encode_record(record: BootRecord) -> bytes:
    """The NV bytes of ``record``: canonical JSON then its CRC-32 (big-endian)."""
    record.check()
    body = json.dumps(record.as_dict(), sort_keys=True, separators=(",", ":")).encode()
    return body + _CRC.pack(zlib.crc32(body))


def decode_record(blob: bytes) -> BootRecord:
    """Parse NV bytes; RecordError if the CRC, the schema or a consistency rule fails."""
    if len(blob) < _CRC.size + 2:
        raise RecordError(f"boot record of {len(blob)} bytes is truncated")
    body, crc = blob[: -_CRC.size], _CRC.unpack(blob[-_CRC.size :])[0]
    if zlib.crc32(body) != crc:
        raise RecordError("boot record CRC mismatch")
    try:
        d = json.loads(body)
        if d.get("schema") != RECORD_SCHEMA:
            raise ValueError(f"schema {d.get('schema')!r}")
        rec = BootRecord(
            generation=int(d["generation"]),
            active=str(d["active"]),
            pending=None if d["pending"] is None else str(d["pending"]),
            tries_left=int(d["tries_left"]),
            last_good=str(d["last_good"]),
            floor=int(d["floor"]),
            boots=int(d["boots"]),
            current=None if d["current"] is None else str(d["current"]),
            slots={
                k: SlotInfo(SlotState(v["state"]), int(v["version"]), str(v["sha256"]))
                for k, v in d["slots"].items()
            },
            history=tuple(
                HistoryEntry(int(h["boot"]), str(h["kind"]), str(h["slot"]), int(h["version"]),
                             str(h.get("note", "")))
                for h in d["history"]
            ),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"boot record unreadable ({exc})") from None
    rec.check()
    return rec
