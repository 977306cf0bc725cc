"""CCSDS TM transfer frames (CCSDS 132.0-B-3) carrying space packets on the downlink.

Fixed-length frames (all big-endian)::

    primary header (6) | data field (frame_len - 8) | FECF (2)

Primary header, 6 octets::

    bits  2         10     3      1          8                  8
        version | SCID | VCID | OCF flag | master ch. count | VC frame count
        | secondary header flag (1) | sync flag (1) | packet order (1) | segment length id (2)
        | first header pointer (11)

Packets are packed back to back into the virtual channel's data fields and may span frames.
The first header pointer (FHP) is the offset of the first packet header that starts in a
frame, :data:`FHP_NO_PACKET_START` (0x7FF) when none does. :meth:`TmFramer.flush` closes a
partly filled frame with an idle packet (APID 0x7FF). No secondary header, no operational
control field; the FECF (CRC-16-CCITT-FALSE) is always present. The frame counters are
modulo 256. :class:`TmDeframer` recovers the packets, re-synchronising on the FHP after a
lost frame (a gap in the VC frame count), and drops idle packets.

``spacepackets.ccsds.tm_frame`` decodes these frames (the tests hold ours to it).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from flight.tmtc._crc import BytesLike, pec
from flight.tmtc._spacepacket import MAX_APID, PRIMARY_HEADER_LEN
from flight.tmtc._tcframe import FrameReason
from native.errors import WireError

__all__ = [
    "DEFAULT_TM_FRAME_LEN",
    "FHP_NO_PACKET_START",
    "TM_FRAME_HEADER_LEN",
    "TmDeframer",
    "TmFramer",
    "idle_packet",
    "unpack_tm_frame",
]

#: Octets of the TM frame primary header.
TM_FRAME_HEADER_LEN: Final = 6
#: satnode's TM frame length (octets, FECF included): spacepackets accepts < 2048.
DEFAULT_TM_FRAME_LEN: Final = 1024
#: First header pointer of a frame in which no packet starts.
FHP_NO_PACKET_START: Final = 0x7FF
_HEAD: Final = struct.Struct(">HBBH")
_MIN_FRAME: Final = TM_FRAME_HEADER_LEN + PRIMARY_HEADER_LEN + 1 + 2
_SEG_LEN_ID: Final = 0b11 << 11  # no sync, forward order, segment length id 0b11


def idle_packet(length: int) -> bytes:
    """An idle space packet (TM, APID 0x7FF, no secondary header) of ``length`` >= 7 octets,
    its data field filled with 0x55."""
    if length < PRIMARY_HEADER_LEN + 1:
        raise ValueError(f"an idle packet has at least 7 octets, got {length}")
    return struct.pack(">HHH", MAX_APID, 0xC000, length - 7) + b"\x55" * (length - 6)


class TmFramer:
    """Packs space packets into fixed-length TM frames of one virtual channel.

    ``scid`` 10 bits, ``vcid`` 3 bits, ``frame_len`` octets (FECF included, 16..2047).
    ``sink`` receives every completed frame. The master channel and VC frame counters count
    frames emitted (modulo 256).
    """

    def __init__(
        self,
        scid: int,
        vcid: int,
        sink: Callable[[bytes], None],
        frame_len: int = DEFAULT_TM_FRAME_LEN,
    ) -> None:
        if not 0 <= scid <= 0x3FF or not 0 <= vcid <= 7:
            raise ValueError(f"SCID {scid} (0..1023) or VCID {vcid} (0..7) out of range")
        if not _MIN_FRAME + 2 <= frame_len < 2048:
            raise ValueError(f"frame length {frame_len} outside {_MIN_FRAME + 2}..2047 octets")
        self.scid = scid
        self.vcid = vcid
        self.frame_len = frame_len
        self.data_len = frame_len - TM_FRAME_HEADER_LEN - 2
        self._sink = sink
        self._buf = bytearray()
        self._fhp: int | None = None
        self.frames = 0
        self.packets = 0

    @property
    def pending(self) -> int:
        """Octets waiting in the frame being filled."""
        return len(self._buf)

    def push(self, packet: BytesLike) -> None:
        """Append one space packet (it may complete one or more frames)."""
        if len(packet) < PRIMARY_HEADER_LEN + 1:
            raise ValueError(f"a space packet has at least 7 octets, got {len(packet)}")
        self.packets += 1
        data = memoryview(bytes(packet))
        if self._fhp is None:
            self._fhp = len(self._buf)
        while data:
            take = min(len(data), self.data_len - len(self._buf))
            self._buf += data[:take]
            data = data[take:]
            if len(self._buf) == self.data_len:
                self._emit()

    def flush(self) -> None:
        """Close the frame being filled (if any) with an idle packet."""
        room = self.data_len - len(self._buf)
        if not self._buf:
            return
        # An idle packet needs 7 octets; with less room it spans into one more (idle) frame.
        fill = room if room >= PRIMARY_HEADER_LEN + 1 else room + self.data_len
        self.push(idle_packet(fill))
        self.packets -= 1  # idle fill is not a packet of ours

    def _emit(self) -> None:
        fhp = FHP_NO_PACKET_START if self._fhp is None else self._fhp
        count = self.frames & 0xFF
        head = _HEAD.pack(self.scid << 4 | self.vcid << 1, count, count, _SEG_LEN_ID | fhp)
        body = head + bytes(self._buf)
        self._buf.clear()
        self._fhp = None
        self.frames += 1
        self._sink(body + pec(body))


def unpack_tm_frame(frame: BytesLike, frame_len: int) -> tuple[int, int, int, int, bytes]:
    """``(scid, vcid, vc frame count, first header pointer, data field)`` of one frame.

    Raises :class:`WireError` (``frame_length``, ``frame_fecf``, ``frame_header``)."""
    raw = bytes(frame)
    if len(raw) != frame_len:
        raise WireError(
            f"TM frame of {len(raw)} octets, expected {frame_len}", FrameReason.LENGTH_MISMATCH
        )
    if pec(raw) != b"\x00\x00":
        raise WireError("TM frame FECF mismatch", FrameReason.FECF)
    w0, _mc, vc_count, status = _HEAD.unpack_from(raw)
    if w0 >> 14 or w0 & 1 or status & 0x8000:
        raise WireError("TM frame: version, OCF or secondary header unsupported",
                        FrameReason.BAD_HEADER)  # fmt: skip
    return (w0 >> 4) & 0x3FF, (w0 >> 1) & 7, vc_count, status & 0x7FF, raw[6:-2]


class TmDeframer:
    """Recovers space packets from the TM frames of one virtual channel (in order).

    :meth:`feed` returns the packets completed by a frame (idle packets dropped). A gap in
    the VC frame count drops the partial packet and resumes at the next FHP; ``lost_frames``
    and ``resyncs`` count what happened.
    """

    def __init__(self, frame_len: int = DEFAULT_TM_FRAME_LEN) -> None:
        self.frame_len = frame_len
        self._buf = bytearray()
        self._synced = False
        self._next_count: int | None = None
        self.lost_frames = 0
        self.resyncs = 0

    def feed(self, frame: BytesLike) -> list[bytes]:
        """The packets this frame completes (see the class docstring)."""
        _, _, count, fhp, data = unpack_tm_frame(frame, self.frame_len)
        if self._next_count is not None and count != self._next_count:
            self.lost_frames += (count - self._next_count) & 0xFF
            self._synced = False
        self._next_count = (count + 1) & 0xFF
        if not self._synced:
            self._buf.clear()
            if fhp == FHP_NO_PACKET_START:
                return []
            data = data[fhp:]
            self._synced = True
            self.resyncs += 1
        self._buf += data
        out: list[bytes] = []
        while len(self._buf) >= PRIMARY_HEADER_LEN:
            total = int.from_bytes(self._buf[4:6], "big") + 7
            if len(self._buf) < total:
                break
            packet = bytes(self._buf[:total])
            del self._buf[:total]
            if int.from_bytes(packet[:2], "big") & MAX_APID != MAX_APID:
                out.append(packet)
        return out
