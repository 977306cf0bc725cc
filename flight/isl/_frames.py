"""Link frames: the unit the laser terminal carries between two neighbours.

Layout (big-endian), ``FRAME_OVERHEAD_BYTES`` = 24 octets around the payload::

    version u8 | kind u8 | flags u16 | src u32 | dst u32 | session u32 | seq u32 |
    payload ... | crc32c u32

``src``/``dst`` are node addresses (:func:`node_address`, the CRC-32C of the node name), so a
frame read after the terminal switched peers is never credited to the wrong link. ``session``
names one incarnation of the sender's ARQ state (it changes after a resynchronisation);
``seq`` is the DATA sequence number modulo 2**32. The trailing CRC-32C (Castagnoli, computed
by the native kernel) covers every preceding octet.

An ACK frame's payload is ``cum u32`` (the next sequence number the receiver expects, modulo
2**32) followed by a selective-acknowledgement bitmap: bit ``i`` of octet ``j`` (LSB first)
set means ``cum + 1 + 8 j + i`` was received.
"""

from __future__ import annotations

import enum
import functools
import struct
from dataclasses import dataclass

from native import crc32c
from native.errors import CrcError, WireError

__all__ = [
    "FLAG_NOP",
    "FLAG_RESYNC",
    "FLAG_SYN",
    "FRAME_OVERHEAD_BYTES",
    "FRAME_VERSION",
    "FrameKind",
    "LinkFrame",
    "decode_frame",
    "encode_frame",
    "node_address",
    "pack_ack",
    "unpack_ack",
]

FRAME_VERSION = 1
_HEADER = struct.Struct(">BBHIIII")
_CRC = struct.Struct(">I")
#: octets a frame adds around its payload (header + CRC-32C)
FRAME_OVERHEAD_BYTES = _HEADER.size + _CRC.size
_SEQ_MOD = 1 << 32

#: DATA flag: the sequence number carries nothing (its payload was withdrawn for rerouting)
FLAG_NOP = 0x0001
#: DATA flag: the session starts at sequence number 0 (sent until the first ACK arrives)
FLAG_SYN = 0x0002
#: ACK flag: the receiver has no state for this session; the sender must start a new one
FLAG_RESYNC = 0x0004


@enum.unique
class FrameKind(enum.IntEnum):
    """What a link frame carries."""

    DATA = 1  #: one ARQ-numbered payload (a bundle segment)
    ACK = 2  #: cumulative + selective acknowledgement of DATA frames


@dataclass(frozen=True, slots=True)
class LinkFrame:
    """A decoded link frame (``seq`` and ``session`` are the 32-bit wire values)."""

    kind: FrameKind
    flags: int
    src: int  #: sender's node address
    dst: int  #: receiver's node address
    session: int
    seq: int
    payload: bytes


@functools.lru_cache(maxsize=4096)
def node_address(name: str) -> int:
    """The 32-bit link address of node ``name`` (CRC-32C of its UTF-8 name)."""
    return crc32c(name.encode())


def encode_frame(frame: LinkFrame) -> bytes:
    """The octets of ``frame`` with its CRC-32C (ValueError if a field is out of range)."""
    if not 0 <= frame.flags <= 0xFFFF:
        raise ValueError(f"frame flags {frame.flags} outside 0..65535")
    for name in ("src", "dst", "session", "seq"):
        if not 0 <= getattr(frame, name) < _SEQ_MOD:
            raise ValueError(f"frame {name} {getattr(frame, name)} outside 0..2**32-1")
    head = _HEADER.pack(
        FRAME_VERSION,
        int(frame.kind),
        frame.flags,
        frame.src,
        frame.dst,
        frame.session,
        frame.seq,
    )
    body = head + frame.payload
    return body + _CRC.pack(crc32c(body))


def decode_frame(data: bytes) -> LinkFrame:
    """Decode one frame. :class:`CrcError` on a CRC mismatch, :class:`WireError` when the
    octets are too short, of another version or of an unknown kind."""
    if len(data) < FRAME_OVERHEAD_BYTES:
        raise WireError(f"link frame of {len(data)} octets is shorter than its overhead", "short")
    body = memoryview(data)[: len(data) - _CRC.size]
    (want,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if crc32c(body) != want:
        raise CrcError("link frame CRC-32C mismatch")
    version, kind, flags, src, dst, session, seq = _HEADER.unpack_from(data, 0)
    if version != FRAME_VERSION:
        raise WireError(f"link frame version {version}, expected {FRAME_VERSION}", "version")
    try:
        fkind = FrameKind(kind)
    except ValueError:
        raise WireError(f"unknown link frame kind {kind}", "kind") from None
    return LinkFrame(fkind, flags, src, dst, session, seq, bytes(body[_HEADER.size :]))


def pack_ack(cum: int, received: list[int]) -> bytes:
    """ACK payload: ``cum`` (next expected, full sequence number) and the received sequence
    numbers above it (each in ``cum + 1 ..``), as the SACK bitmap."""
    if not received:
        return struct.pack(">I", cum % _SEQ_MOD)
    top = max(received) - cum - 1
    bitmap = bytearray(top // 8 + 1)
    for s in received:
        off = s - cum - 1
        if off < 0:
            raise ValueError(f"selectively acknowledged seq {s} not above cum {cum}")
        bitmap[off >> 3] |= 1 << (off & 7)
    return struct.pack(">I", cum % _SEQ_MOD) + bytes(bitmap)


def unpack_ack(payload: bytes) -> tuple[int, list[int]]:
    """``(cum mod 2**32, offsets)``: the offsets ``k >= 1`` of the SACKed numbers ``cum + k``."""
    if len(payload) < 4:
        raise WireError(f"ACK payload of {len(payload)} octets", "short")
    (cum,) = struct.unpack_from(">I", payload, 0)
    offsets: list[int] = []
    for j, octet in enumerate(payload[4:]):
        if octet:
            for i in range(8):
                if octet >> i & 1:
                    offsets.append(8 * j + i + 1)
    return cum, offsets
