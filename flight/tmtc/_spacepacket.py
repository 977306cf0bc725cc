"""CCSDS Space Packet primary header (CCSDS 133.0-B-2), wire error reasons and stream splitting.

Primary header, 6 octets, big-endian::

    bits  3     1      1        11     2          14          16
        version|type|sec-hdr|  APID  |seq flags| seq count | data length

``version`` is 0 (0b000), ``type`` 0 for telemetry and 1 for telecommands, ``data length`` is
the number of octets in the packet data field minus one, so a packet occupies
``data_length + 7`` octets in total.

Maximum packet length
    CCSDS allows up to 65,542 octets. satnode rejects anything longer than
    :data:`DEFAULT_MAX_PACKET_LEN` (4,096 octets) unless a caller passes ``max_len``: it is four
    times the largest telecommand a TC transfer frame can carry (1,024 octets), holds every
    housekeeping and event packet the flight software produces, and bounds the memory a
    corrupted length field can make the ground or onboard side allocate or wait for.

Every decoding failure raises :class:`~native.errors.WireError` whose ``reason`` is a
:class:`WireReason` (a ``str`` enum, so ``err.reason == "truncated"`` also holds).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final, NoReturn

from flight.tmtc._crc import BytesLike
from native.errors import CrcError, WireError

__all__ = [
    "ABSOLUTE_MAX_PACKET_LEN",
    "DEFAULT_MAX_PACKET_LEN",
    "MAX_APID",
    "MAX_SEQ_COUNT",
    "PRIMARY_HEADER_LEN",
    "PacketType",
    "PrimaryHeader",
    "SeqFlags",
    "WireReason",
    "pack_primary_header",
    "packet_length",
    "split_packets",
    "unpack_primary_header",
]

#: Octets in the primary header.
PRIMARY_HEADER_LEN: Final = 6
#: Largest 11-bit APID (0x7FF is the idle APID).
MAX_APID: Final = 0x7FF
#: Largest 14-bit packet sequence count; counters wrap to 0 after it.
MAX_SEQ_COUNT: Final = 0x3FFF
#: Largest packet CCSDS can describe: 6 header octets + 65,536 data octets.
ABSOLUTE_MAX_PACKET_LEN: Final = PRIMARY_HEADER_LEN + 0x10000
#: satnode's default limit on a whole packet, in octets (see the module docstring).
DEFAULT_MAX_PACKET_LEN: Final = 4096


@enum.unique
class WireReason(enum.StrEnum):
    """Why bytes were rejected: the ``reason`` of every :class:`WireError` the codec raises.

    A packet decoder checks framing first (fewer than 6 octets: ``truncated``; then
    ``oversized``, ``truncated``, ``length_mismatch``), then the CRC over the framed packet,
    then the header fields in the order listed below ``CRC``. So a field reason is reported only
    for a packet whose CRC is good: the sender really sent that field.
    """

    #: The buffer ends before the primary header, the PUS header or the declared packet length.
    TRUNCATED = "truncated"
    #: The declared packet length exceeds the maximum packet length (``max_len``).
    OVERSIZED = "oversized"
    #: The buffer is longer than the declared packet, or the declared length is too short for
    #: the headers and the PEC (or a time code's length is wrong).
    LENGTH_MISMATCH = "length_mismatch"
    #: Packet error control (CRC-16) mismatch; raised as :class:`~native.errors.CrcError`.
    CRC = "crc"
    #: Packet version number is not 0 (0b000).
    BAD_VERSION = "bad_version"
    #: Telecommand where telemetry was expected, or the reverse.
    BAD_TYPE = "bad_type"
    #: Secondary header flag clear: not a PUS packet.
    NO_SECONDARY_HEADER = "no_secondary_header"
    #: Sequence flags are not 0b11 (stand-alone packet), which PUS-C requires.
    BAD_SEQ_FLAGS = "bad_seq_flags"
    #: PUS version in the secondary header is not 2 (PUS-C).
    BAD_PUS_VERSION = "bad_pus_version"
    #: A time code's P-field does not match the expected format, or a field is out of range.
    BAD_TIME_CODE = "bad_time_code"
    #: Encoding only: a field value does not fit its bit width (or a time its code).
    FIELD_RANGE = "field_range"


def _fail(reason: WireReason, message: str) -> NoReturn:
    if reason is WireReason.CRC:
        raise CrcError(message)
    raise WireError(message, reason)


@enum.unique
class PacketType(enum.IntEnum):
    """Packet type bit of the primary header."""

    TM = 0
    TC = 1


@enum.unique
class SeqFlags(enum.IntEnum):
    """Sequence flags (2 bits); PUS packets are always ``UNSEGMENTED`` (0b11)."""

    CONTINUATION = 0b00
    FIRST = 0b01
    LAST = 0b10
    UNSEGMENTED = 0b11


_HEADER: Final = struct.Struct(">HHH")


@dataclass(frozen=True, slots=True)
class PrimaryHeader:
    """Decoded primary header. ``data_len`` is the raw field (data-field octets minus one)."""

    packet_type: PacketType
    sec_header: bool
    apid: int
    seq_flags: SeqFlags
    seq_count: int
    data_len: int
    version: int = 0

    @property
    def packet_len(self) -> int:
        """Whole packet length in octets (``data_len + 7``)."""
        return self.data_len + PRIMARY_HEADER_LEN + 1

    def pack(self) -> bytes:
        """The 6 header octets (see :func:`pack_primary_header`)."""
        return pack_primary_header(
            self.packet_type,
            self.sec_header,
            self.apid,
            self.seq_flags,
            self.seq_count,
            self.data_len,
            self.version,
        )


def pack_primary_header(
    packet_type: int,
    sec_header: bool,
    apid: int,
    seq_flags: int,
    seq_count: int,
    data_len: int,
    version: int = 0,
) -> bytes:
    """Pack a primary header. ``data_len`` is the raw field: data-field octets minus one.

    Raises :class:`WireError` (``field_range``) if a value does not fit its bit width.
    """
    if (
        version >> 3
        or packet_type >> 1
        or apid >> 11
        or seq_flags >> 2
        or seq_count >> 14
        or data_len >> 16
        or min(version, packet_type, apid, seq_flags, seq_count, data_len) < 0
    ):
        _fail(
            WireReason.FIELD_RANGE,
            f"primary header field out of range: version={version} type={packet_type} "
            f"apid={apid} seq_flags={seq_flags} seq_count={seq_count} data_len={data_len}",
        )
    return _HEADER.pack(
        version << 13 | packet_type << 12 | bool(sec_header) << 11 | apid,
        seq_flags << 14 | seq_count,
        data_len,
    )


def unpack_primary_header(buf: BytesLike) -> PrimaryHeader:
    """Decode the first 6 octets of ``buf`` without judging them (any version or type).

    Raises :class:`WireError` (``truncated``) if ``buf`` is shorter than 6 octets.
    """
    if len(buf) < PRIMARY_HEADER_LEN:
        _fail(WireReason.TRUNCATED, f"{len(buf)} octets, primary header needs 6")
    w0, w1, data_len = _HEADER.unpack_from(buf)
    return PrimaryHeader(
        PacketType((w0 >> 12) & 1),
        bool(w0 & 0x0800),
        w0 & MAX_APID,
        SeqFlags(w1 >> 14),
        w1 & MAX_SEQ_COUNT,
        data_len,
        w0 >> 13,
    )


def packet_length(buf: BytesLike, offset: int = 0) -> int:
    """Whole length in octets of the packet whose header starts at ``buf[offset]``.

    Raises :class:`WireError` (``truncated``) if fewer than 6 octets remain.
    """
    if len(buf) - offset < PRIMARY_HEADER_LEN or offset < 0:
        _fail(WireReason.TRUNCATED, f"primary header at offset {offset} needs 6 octets")
    return int.from_bytes(buf[offset + 4 : offset + 6], "big") + PRIMARY_HEADER_LEN + 1


def split_packets(
    buf: BytesLike, *, max_len: int = DEFAULT_MAX_PACKET_LEN
) -> tuple[list[bytes], bytes]:
    """Split concatenated space packets (a ``tm.bin`` archive, a stream chunk) at their lengths.

    Returns ``(packets, remainder)``: every complete packet as ``bytes``, and the trailing
    octets of an incomplete one (empty if ``buf`` ends on a packet boundary), to be prefixed to
    the next chunk. Only the framing is checked here (version 0 and length <= ``max_len``,
    octets); decode each packet with :func:`~flight.tmtc.unpack_tm` / ``unpack_tc``.

    A packet stream has no sync marker, so a header with a version other than 0
    (``bad_version``) or a length above ``max_len`` (``oversized``) means the stream is corrupt
    from there on: :class:`WireError` is raised, its message giving the offset.
    """
    view = buf if isinstance(buf, bytes) else bytes(buf)  # one copy; slices below are bytes
    end = len(view)
    packets: list[bytes] = []
    append = packets.append
    unpack_from = _HEADER.unpack_from
    offset = 0
    while end - offset >= PRIMARY_HEADER_LEN:
        w0, _, data_len = unpack_from(view, offset)
        total = data_len + PRIMARY_HEADER_LEN + 1
        if w0 >> 13:
            _fail(WireReason.BAD_VERSION, f"packet version {w0 >> 13} at offset {offset}")
        if total > max_len:
            _fail(
                WireReason.OVERSIZED,
                f"packet of {total} octets at offset {offset} exceeds max_len={max_len}",
            )
        if offset + total > end:
            break
        append(view[offset : offset + total])
        offset += total
    return packets, view[offset:]
