"""CCSDS TC transfer frames (CCSDS 232.0-B-4): primary header, segment header, FECF,
segmentation and reassembly.

Frame layout (all big-endian)::

    primary header (5) | segment header (1) | [security header] | data | [security trailer]
    | FECF (2)

Primary header, 5 octets::

    bits  2        1         1          2      10     6      10             8
        version | bypass | ctrl cmd | spare | SCID | VCID | frame length | frame seq. number

``frame length`` is the total number of octets in the frame minus one; a frame holds at most
:data:`MAX_TC_FRAME_LEN` (1,024) octets. satnode sends every frame with the bypass flag set
(Type-BD, expedited): there is no COP-1 (FARM-1) onboard, the anti-replay sequence number of
SDLS (:mod:`flight.tmtc._sdls`) orders and de-duplicates commands instead, and the frame
sequence number is just a modulo-256 counter.

The segment header (one octet: sequence flags, 2 bits; MAP id, 6 bits) is always present:
a space packet longer than a frame can carry is cut into a first, continuing ... and last
segment (:func:`segment`), reassembled onboard by :class:`Reassembler`.

The frame error control field (FECF) is CRC-16-CCITT-FALSE over the whole frame before it,
the same CRC as a packet's PEC; it guards against transmission errors, not forgery.

Decoding raises :class:`~native.errors.WireError` with a :class:`FrameReason` and nothing
else for any bytes-like input.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final, NoReturn

from flight.tmtc._crc import BytesLike, pec
from native.errors import WireError

__all__ = [
    "FECF_LEN",
    "MAX_MAP_ID",
    "MAX_SCID",
    "MAX_TC_FRAME_LEN",
    "MAX_VCID",
    "SEGMENT_HEADER_LEN",
    "TC_FRAME_HEADER_LEN",
    "FrameReason",
    "Reassembler",
    "SegFlags",
    "TcFrame",
    "pack_tc_frame",
    "pack_tc_frame_header",
    "peek_tc_frame_header",
    "segment",
    "unpack_tc_frame",
]

#: Octets of the TC transfer frame primary header.
TC_FRAME_HEADER_LEN: Final = 5
#: Octets of the segment header.
SEGMENT_HEADER_LEN: Final = 1
#: Octets of the frame error control field.
FECF_LEN: Final = 2
#: Largest TC transfer frame (octets), CCSDS 232.0-B-4 4.1.2.7.
MAX_TC_FRAME_LEN: Final = 1024
#: Largest spacecraft id (10 bits), virtual channel id (6 bits) and MAP id (6 bits).
MAX_SCID: Final = 0x3FF
MAX_VCID: Final = 0x3F
MAX_MAP_ID: Final = 0x3F

_HEAD: Final = struct.Struct(">HHB")


@enum.unique
class FrameReason(enum.StrEnum):
    """Why a TC frame was rejected (the ``reason`` of the :class:`WireError`)."""

    #: Shorter than headers and FECF, or than the frame length field says.
    TRUNCATED = "frame_truncated"
    #: Longer than the frame length field says, or than 1,024 octets.
    LENGTH_MISMATCH = "frame_length"
    #: Frame error control field mismatch.
    FECF = "frame_fecf"
    #: Transfer frame version not 0, or a control command frame.
    BAD_HEADER = "frame_header"
    #: Spacecraft id of another spacecraft.
    WRONG_SCID = "frame_scid"
    #: A segment out of order, or reassembly beyond the largest packet.
    SEGMENTATION = "frame_segmentation"
    #: Encoding only: a field out of range, or a frame over 1,024 octets.
    FIELD_RANGE = "frame_field_range"


def _fail(reason: FrameReason, message: str) -> NoReturn:
    raise WireError(message, reason)


@enum.unique
class SegFlags(enum.IntEnum):
    """Sequence flags of the segment header (CCSDS 232.0-B-4 4.1.3.2.2)."""

    CONTINUING = 0b00
    FIRST = 0b01
    LAST = 0b10
    UNSEGMENTED = 0b11


@dataclass(frozen=True, slots=True)
class TcFrame:
    """A decoded TC transfer frame.

    ``scid`` 10 bits, ``vcid`` 6 bits, ``seq`` the frame sequence number (8 bits),
    ``bypass``/``control`` the two header flags, ``header`` the 5 primary header octets as
    received (the security layer authenticates them, masked), ``data`` the frame data field
    (segment header onwards, FECF excluded).
    """

    scid: int
    vcid: int
    seq: int
    bypass: bool
    control: bool
    header: bytes
    data: bytes


def pack_tc_frame_header(
    scid: int, vcid: int, seq: int, total: int, *, bypass: bool = True, control: bool = False
) -> bytes:
    """The 5-octet primary header of a frame of ``total`` octets (FECF included). Raises
    :class:`WireError` (``frame_field_range``) for a field out of range."""
    if not (0 <= scid <= MAX_SCID and 0 <= vcid <= MAX_VCID and 0 <= seq <= 0xFF):
        _fail(FrameReason.FIELD_RANGE, f"TC frame field out of range: scid={scid} vcid={vcid} "
              f"seq={seq}")  # fmt: skip
    if not TC_FRAME_HEADER_LEN + FECF_LEN <= total <= MAX_TC_FRAME_LEN:
        _fail(FrameReason.FIELD_RANGE, f"TC frame of {total} octets outside 7..{MAX_TC_FRAME_LEN}")
    return _HEAD.pack(
        bool(bypass) << 13 | bool(control) << 12 | scid, vcid << 10 | (total - 1), seq
    )


def pack_tc_frame(
    scid: int,
    vcid: int,
    seq: int,
    data: BytesLike,
    *,
    bypass: bool = True,
    control: bool = False,
) -> bytes:
    """One TC frame: primary header, ``data`` (the data field: segment header onwards) and
    FECF. Raises :class:`WireError` (``frame_field_range``) for a field out of range or a
    frame over :data:`MAX_TC_FRAME_LEN` octets."""
    total = TC_FRAME_HEADER_LEN + len(data) + FECF_LEN
    head = pack_tc_frame_header(scid, vcid, seq, total, bypass=bypass, control=control)
    body = head + bytes(data)
    return body + pec(body)


def peek_tc_frame_header(buf: BytesLike) -> tuple[int, int, int] | None:
    """``(scid, vcid, frame length in octets)`` read from the first 5 octets without any
    check, or None when fewer than 5 octets are given."""
    if len(buf) < TC_FRAME_HEADER_LEN:
        return None
    w0, w1, _ = _HEAD.unpack_from(buf)
    return w0 & MAX_SCID, w1 >> 10, (w1 & 0x3FF) + 1


def unpack_tc_frame(buf: BytesLike, *, scid: int | None = None) -> TcFrame:
    """Decode exactly one TC frame occupying all of ``buf`` and check its FECF.

    The checks run cheapest first (length, header, spacecraft id, then the CRC), so junk costs
    little. ``scid``: the spacecraft id this node answers to (None: any). Raises
    :class:`WireError` with a :class:`FrameReason`.
    """
    n = len(buf)
    if n < TC_FRAME_HEADER_LEN + SEGMENT_HEADER_LEN + FECF_LEN:
        _fail(FrameReason.TRUNCATED, f"TC frame: {n} octets, headers and FECF need 8")
    if n > MAX_TC_FRAME_LEN:
        _fail(FrameReason.LENGTH_MISMATCH, f"TC frame: {n} octets exceed {MAX_TC_FRAME_LEN}")
    raw = buf if type(buf) is bytes else bytes(buf)
    w0, w1, seq = _HEAD.unpack_from(raw)
    total = (w1 & 0x3FF) + 1
    if total != n:
        reason = FrameReason.TRUNCATED if n < total else FrameReason.LENGTH_MISMATCH
        _fail(reason, f"TC frame: {n} octets, frame length field says {total}")
    if w0 >> 14:
        _fail(FrameReason.BAD_HEADER, f"TC frame version {w0 >> 14}, expected 0")
    if w0 & 0x1000:
        _fail(FrameReason.BAD_HEADER, "control command frames are not accepted (no FARM-1)")
    frame_scid = w0 & MAX_SCID
    if scid is not None and frame_scid != scid:
        _fail(FrameReason.WRONG_SCID, f"TC frame for spacecraft {frame_scid}, not {scid}")
    if pec_value(raw) != 0:
        _fail(FrameReason.FECF, f"TC frame: FECF mismatch over {n} octets")
    return TcFrame(
        frame_scid,
        w1 >> 10,
        seq,
        bool(w0 & 0x2000),
        bool(w0 & 0x1000),
        raw[:TC_FRAME_HEADER_LEN],
        raw[TC_FRAME_HEADER_LEN:-FECF_LEN],
    )


def pec_value(buf: bytes) -> int:
    """CRC-16-CCITT-FALSE of ``buf`` (0 when ``buf`` ends with its own big-endian CRC)."""
    return int.from_bytes(pec(buf), "big")


def segment(packet: BytesLike, max_segment: int, map_id: int = 0) -> list[bytes]:
    """Cut ``packet`` into segments of at most ``max_segment`` octets of user data, each
    prefixed with its segment header (MAP ``map_id``): one ``UNSEGMENTED`` segment when it
    fits, else ``FIRST``, ``CONTINUING``... ``LAST``. ValueError for ``max_segment < 1`` or a
    MAP id outside 0..63."""
    if max_segment < 1:
        raise ValueError(f"max_segment must be >= 1 octet, got {max_segment}")
    if not 0 <= map_id <= MAX_MAP_ID:
        raise ValueError(f"MAP id {map_id} outside 0..{MAX_MAP_ID}")
    data = bytes(packet)
    if len(data) <= max_segment:
        return [bytes([SegFlags.UNSEGMENTED << 6 | map_id]) + data]
    chunks = [data[i : i + max_segment] for i in range(0, len(data), max_segment)]
    out = []
    for i, chunk in enumerate(chunks):
        flags = SegFlags.FIRST if i == 0 else SegFlags.LAST if i == len(chunks) - 1 else 0
        out.append(bytes([flags << 6 | map_id]) + chunk)
    return out


class Reassembler:
    """Reassembles space packets from the segments of one virtual channel, per MAP.

    :meth:`feed` takes a segment (segment header + user data) and returns the completed
    packet, or None while one is in progress. A segment out of order (a continuing or last
    segment with nothing started, a first segment while one is in progress) drops the partial
    packet and raises :class:`WireError` (``frame_segmentation``); so does a packet growing
    beyond ``max_packet_len`` octets, which bounds the memory a sender can hold.
    """

    def __init__(self, max_packet_len: int) -> None:
        if max_packet_len < 1:
            raise ValueError(f"max_packet_len must be >= 1 octet, got {max_packet_len}")
        self.max_packet_len = max_packet_len
        self._partial: dict[int, bytearray] = {}

    @property
    def in_progress(self) -> int:
        """MAPs with a partial packet."""
        return len(self._partial)

    def reset(self) -> None:
        """Drop every partial packet (a processor reset, a re-key)."""
        self._partial.clear()

    def feed(self, seg: bytes) -> bytes | None:
        """Add one segment; the completed packet, or None (see the class docstring)."""
        if not seg:
            _fail(FrameReason.TRUNCATED, "empty frame data field: no segment header")
        flags, map_id, data = seg[0] >> 6, seg[0] & MAX_MAP_ID, seg[1:]
        partial = self._partial.get(map_id)
        if flags == SegFlags.UNSEGMENTED:
            if partial is not None:
                del self._partial[map_id]
                _fail(FrameReason.SEGMENTATION, f"MAP {map_id}: unsegmented packet inside a "
                      "segmented one (partial packet dropped)")  # fmt: skip
            return data
        if flags == SegFlags.FIRST:
            if partial is not None:
                del self._partial[map_id]
                _fail(FrameReason.SEGMENTATION, f"MAP {map_id}: first segment while one is in "
                      "progress (partial packet dropped)")  # fmt: skip
            partial = self._partial[map_id] = bytearray()
        elif partial is None:
            _fail(FrameReason.SEGMENTATION, f"MAP {map_id}: segment with no first segment")
        if len(partial) + len(data) > self.max_packet_len:
            del self._partial[map_id]
            _fail(FrameReason.SEGMENTATION, f"MAP {map_id}: reassembled packet exceeds "
                  f"{self.max_packet_len} octets")  # fmt: skip
        partial += data
        if flags == SegFlags.LAST:
            del self._partial[map_id]
            return bytes(partial)
        return None
