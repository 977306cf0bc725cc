"""The TM downlink buffer: a bounded ring of outgoing TM packets in protected memory.

Outgoing packets wait here between the moment they are made (:meth:`DownlinkBuffer.push`) and
the moment the downlink takes them (:meth:`DownlinkBuffer.drain`). The ring's bytes live in a
:class:`DownlinkMemory`: memory that corrects single-bit upsets on read and refuses content it
cannot correct (an EDAC-protected region, :class:`flight.edac.ProtectedRegion`, in the node;
any object of that shape in tests). This module does not depend on :mod:`flight.edac`.

Record layout (big-endian; every record starts on an 8-octet boundary, so a write covers
whole 64-bit protected words and never read-modify-writes a neighbour's word)::

    0   length    u32   octets of the packet
    4   crc32c    u32   CRC-32C (Castagnoli) of the packet
    8   packet    length octets, then zero padding to a multiple of 8

A record that does not fit before the end of the ring continues at offset 0 (two writes).

Guarantees:

* **A corrected upset never reaches the ground as a corrupt packet**: a record is read back
  through the memory's correction, and its length prefix and CRC-32C must match what was
  written; anything else (an uncorrectable word, content restored from an older golden copy
  by a page reload) drops the record, counts it (``dropped_corrupt``) and never sends it.
* **Bounded**: when a new record does not fit, the oldest records are overwritten and counted
  (``dropped_overwritten``).
* **Never blocks**: while the memory refuses access (an uncorrectable word was found and the
  scrubber has not reloaded it yet) queued records wait, and a new packet that cannot be
  stored goes to the downlink directly (``bypassed``: it never touched the damaged memory).

The ring's bookkeeping (record offsets and lengths) is kept outside the protected memory; the
length prefix in memory is checked against it, so a damaged prefix cannot derail the framing.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from native import crc32c
from native.errors import SatnodeError

__all__ = ["RECORD_HEADER_LEN", "DownlinkBuffer", "DownlinkMemory"]

_HEADER = struct.Struct(">II")
#: Octets of a record's header (length u32, CRC-32C u32).
RECORD_HEADER_LEN = _HEADER.size
_ALIGN = 8


@runtime_checkable
class DownlinkMemory(Protocol):
    """Memory that holds the ring: error-corrected reads, typed refusals (units: octets).

    ``read`` returns corrected content or raises a :class:`~native.errors.SatnodeError`
    when a word it covers cannot be corrected; ``write`` raises one when the memory refuses
    writes (it is waiting for a repair). ``is_bad`` is True while it refuses access.
    """

    @property
    def size_bytes(self) -> int:
        """Capacity (octets)."""
        ...

    @property
    def is_bad(self) -> bool:
        """True while reads and writes are refused (an uncorrectable word awaits repair)."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """Corrected octets ``[offset, offset + length)``."""
        ...

    def write(self, offset: int, payload: bytes) -> None:
        """Store ``payload`` at ``offset``."""
        ...


@dataclass(frozen=True, slots=True)
class _Record:
    offset: int  #: first octet of the record (8-aligned)
    length: int  #: packet octets
    crc: int  #: CRC-32C of the packet
    span: int  #: octets the record occupies (header + packet + padding)


def _span(length: int) -> int:
    return -(-(RECORD_HEADER_LEN + length) // _ALIGN) * _ALIGN


class DownlinkBuffer:
    """A bounded ring of TM packets stored in :class:`DownlinkMemory` (see the module doc).

    The usable capacity is ``memory.size_bytes`` rounded down to a multiple of 8 octets; a
    packet longer than ``capacity - 8`` octets cannot be stored (:meth:`push` returns False).
    """

    def __init__(self, memory: DownlinkMemory) -> None:
        if not isinstance(memory, DownlinkMemory):
            raise TypeError(f"{type(memory).__name__} is not a DownlinkMemory")
        capacity = int(memory.size_bytes) // _ALIGN * _ALIGN
        if capacity < 2 * _ALIGN:
            raise ValueError(f"downlink memory of {memory.size_bytes} octets is too small")
        self.memory = memory
        #: usable ring octets
        self.capacity = capacity
        self._records: deque[_Record] = deque()
        self._head = 0  #: where the next record starts
        self._used = 0  #: octets occupied by queued records
        self.pushed = 0  #: packets stored
        self.sent = 0  #: packets handed to the downlink from the ring
        self.bypassed = 0  #: packets sent directly: the memory refused them or they were too long
        self.dropped_overwritten = 0  #: oldest packets overwritten by newer ones (ring full)
        self.dropped_corrupt = 0  #: packets whose record could not be read back intact
        self.high_water_bytes = 0  #: most octets ever queued

    @property
    def max_packet_len(self) -> int:
        """Longest packet the ring can store (octets)."""
        return self.capacity - RECORD_HEADER_LEN

    def __len__(self) -> int:
        """Packets queued."""
        return len(self._records)

    @property
    def used_bytes(self) -> int:
        """Octets occupied by queued records (headers and padding included)."""
        return self._used

    # -- write side ------------------------------------------------------------------------
    def push(self, packet: bytes) -> bool:
        """Store ``packet`` as the newest record; True if stored.

        False (nothing stored, no record lost, counted in ``bypassed``) when the packet is
        longer than :attr:`max_packet_len` or the memory refuses writes: the caller then sends
        the packet directly. Overwrites (and counts) the oldest records when the ring is full.
        """
        n = len(packet)
        if n == 0:
            raise ValueError("an empty packet is not a TM packet")
        span = _span(n)
        if span > self.capacity or self.memory.is_bad:
            self.bypassed += 1
            return False
        while self.capacity - self._used < span:
            old = self._records.popleft()
            self._used -= old.span
            self.dropped_overwritten += 1
        crc = crc32c(packet)
        record = _HEADER.pack(n, crc) + bytes(packet) + bytes(span - RECORD_HEADER_LEN - n)
        try:
            self._store(self._head, record)
        except SatnodeError:
            self.bypassed += 1  # refused (a repair is pending): nothing queued
            return False
        self._records.append(_Record(self._head, n, crc, span))
        self._head = (self._head + span) % self.capacity
        self._used += span
        self.high_water_bytes = max(self.high_water_bytes, self._used)
        self.pushed += 1
        return True

    def _store(self, offset: int, record: bytes) -> None:
        first = min(len(record), self.capacity - offset)
        self.memory.write(offset, record[:first])
        if first < len(record):
            self.memory.write(0, record[first:])

    def _load(self, offset: int, length: int) -> bytes:
        first = min(length, self.capacity - offset)
        out = self.memory.read(offset, first)
        if first < length:
            out += self.memory.read(0, length - first)
        return out

    # -- read side -------------------------------------------------------------------------
    def drain(self, send: Callable[[bytes], None], max_packets: int | None = None) -> int:
        """Hand queued packets, oldest first, to ``send``; returns how many were sent.

        Every record is read back through the memory's correction and checked (length and
        CRC-32C); a record that cannot be read intact is dropped and counted, never sent.
        Stops early (records keep waiting) while the memory refuses access. Packets pushed by
        ``send`` itself (events raised while draining) wait for the next drain.
        """
        budget = len(self._records) if max_packets is None else min(max_packets, len(self))
        sent = 0
        for _ in range(budget):
            if self.memory.is_bad or not self._records:
                break  # wait for the repair; the records stay queued
            rec = self._records.popleft()
            self._used -= rec.span
            packet = self._read_record(rec)
            if packet is None:
                self.dropped_corrupt += 1
                continue
            self.sent += 1
            sent += 1
            send(packet)
        return sent

    def _read_record(self, rec: _Record) -> bytes | None:
        try:
            raw = self._load(rec.offset, RECORD_HEADER_LEN + rec.length)
        except SatnodeError:
            return None  # an uncorrectable word inside this record
        length, crc = _HEADER.unpack_from(raw)
        packet = raw[RECORD_HEADER_LEN:]
        if length != rec.length or crc != rec.crc or crc32c(packet) != crc:
            return None  # content restored from an older image: not what was written
        return packet

    def counters(self) -> dict[str, int]:
        """Counters and fill (JSON-serialisable; octets for the ``_bytes`` keys)."""
        return {
            "capacity_bytes": self.capacity,
            "queued": len(self._records),
            "used_bytes": self._used,
            "high_water_bytes": self.high_water_bytes,
            "pushed": self.pushed,
            "sent": self.sent,
            "bypassed": self.bypassed,
            "dropped_overwritten": self.dropped_overwritten,
            "dropped_corrupt": self.dropped_corrupt,
        }
