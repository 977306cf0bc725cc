"""PUS-C (ECSS-E-ST-70-41C) telemetry and telecommand packets: secondary headers and PEC.

Telemetry packet (packet type 0, secondary header flag 1, sequence flags 0b11)::

    primary header (6) | 0x2<<4 | time ref (1) | service (1) | subtype (1)
    | message type counter (2) | destination id (2) | time field (time_len) | source data | PEC (2)

Telecommand packet (packet type 1, secondary header flag 1, sequence flags 0b11)::

    primary header (6) | 0x2<<4 | ack flags (1) | service (1) | subtype (1) | source id (2)
    | application data | PEC (2)

All multi-octet fields are big-endian. The PUS version nibble is 2 (PUS-C); the time reference
status (TM) and the acknowledgement flags (TC: acceptance, start, progress, completion, MSB
first) are the low nibble of the first secondary header octet. The PEC is CRC-16-CCITT-FALSE
(:func:`~flight.tmtc.crc16`) over the whole packet before it. The layout is octet-for-octet the
one ``spacepackets.ecss.PusTm`` / ``PusTc`` (v0.32) produce; the tests hold it to that.

The time field is opaque here: its length ``time_len`` (octets, P-field included if the mission
sends one) is a mission constant, and :mod:`flight.tmtc._timecode` encodes and decodes it.

Decoding (:func:`unpack_tm`, :func:`unpack_tc`) either returns a packet or raises
:class:`~native.errors.WireError` with a :class:`~flight.tmtc.WireReason`; for any bytes-like
input it raises nothing else. Encoding validates every field and raises ``WireError``
(``field_range`` or ``oversized``).

Encoding runs in C with the C backend (one call builds the headers, copies the time field and
data and appends the PEC: :data:`~flight.tmtc._crc.PACK_TM_C`); the Python encoders below
(``_pack_tm_reference``, ``_pack_tc_reference``) are the reference the tests hold it to, run
under the Numba and Python backends, and own the error reporting: the C encoder declines
(returns ``None``) whenever a field is out of range or unusual and the reference then raises
the typed error or encodes the exotic argument.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, NamedTuple, NoReturn

from flight.tmtc._crc import CRC16_INIT, PACK_TC_C, PACK_TM_C, PEC_KERNEL, BytesLike
from flight.tmtc._spacepacket import (
    ABSOLUTE_MAX_PACKET_LEN,
    DEFAULT_MAX_PACKET_LEN,
    PRIMARY_HEADER_LEN,
    WireReason,
    _fail,
)

__all__ = [
    "DEFAULT_ACK_FLAGS",
    "PEC_LEN",
    "PUS_VERSION_C",
    "TC_OVERHEAD_LEN",
    "TC_SEC_HEADER_LEN",
    "TM_OVERHEAD_LEN",
    "TM_SEC_HEADER_LEN",
    "TcHeader",
    "TcPacket",
    "TmPacket",
    "pack_tc",
    "pack_tm",
    "peek_tc_header",
    "unpack_tc",
    "unpack_tm",
]

#: PUS version number of PUS-C packets (ECSS-E-ST-70-41C).
PUS_VERSION_C: Final = 2
#: TM secondary header octets before the time field.
TM_SEC_HEADER_LEN: Final = 7
#: TC secondary header octets.
TC_SEC_HEADER_LEN: Final = 5
#: Packet error control octets.
PEC_LEN: Final = 2
#: Octets a TM packet adds around its source data, excluding the time field (6 + 7 + 2).
TM_OVERHEAD_LEN: Final = PRIMARY_HEADER_LEN + TM_SEC_HEADER_LEN + PEC_LEN
#: Octets a TC packet adds around its application data (6 + 5 + 2).
TC_OVERHEAD_LEN: Final = PRIMARY_HEADER_LEN + TC_SEC_HEADER_LEN + PEC_LEN
#: Acknowledgement flags requesting every verification report (acceptance ... completion).
DEFAULT_ACK_FLAGS: Final = 0b1111

# Primary header + TM secondary header up to the time field: 13 octets.
_TM_HEAD: Final = struct.Struct(">HHHBBBHH")
# Primary header + TC secondary header: 11 octets.
_TC_HEAD: Final = struct.Struct(">HHHBBBH")
_PRIMARY: Final = struct.Struct(">HHH")
_PEC: Final = struct.Struct(">H")
_TM_HEAD_LEN: Final = _TM_HEAD.size
_TC_HEAD_LEN: Final = _TC_HEAD.size
# First header word with version 0, the type bit and the secondary header flag, APID 0.
_TM_WORD0: Final = 0x0800
_TC_WORD0: Final = 0x1800
_UNSEGMENTED: Final = 0xC000
_PUS_C_NIBBLE: Final = PUS_VERSION_C << 4
_new: Final = object.__new__


@dataclass(frozen=True, slots=True)
class TmPacket:
    """A decoded (or to-be-encoded) PUS-C telemetry packet.

    ``apid`` 11 bits, ``seq_count`` 14 bits, ``service``/``subtype`` 8 bits, ``msg_counter``
    (message type counter) and ``dest_id`` 16 bits, ``time`` the raw time field, ``data`` the
    source data, ``time_ref`` the 4-bit spacecraft time reference status. Fields are checked
    when packing, not on construction.
    """

    apid: int
    seq_count: int
    service: int
    subtype: int
    msg_counter: int = 0
    dest_id: int = 0
    time: bytes = b""
    data: bytes = b""
    time_ref: int = 0

    def pack(self, *, max_len: int = DEFAULT_MAX_PACKET_LEN) -> bytes:
        """The packet's octets, PEC included (see :func:`pack_tm`)."""
        return pack_tm(
            self.apid,
            self.seq_count,
            self.service,
            self.subtype,
            self.msg_counter,
            self.dest_id,
            self.time,
            self.data,
            self.time_ref,
            max_len=max_len,
        )


@dataclass(frozen=True, slots=True)
class TcPacket:
    """A decoded (or to-be-encoded) PUS-C telecommand packet.

    ``apid`` 11 bits, ``seq_count`` 14 bits, ``service``/``subtype`` 8 bits, ``ack_flags``
    4 bits (acceptance, start, progress, completion; MSB first), ``source_id`` 16 bits,
    ``data`` the application data. Fields are checked when packing, not on construction.
    """

    apid: int
    seq_count: int
    service: int
    subtype: int
    ack_flags: int = DEFAULT_ACK_FLAGS
    source_id: int = 0
    data: bytes = b""

    @property
    def request_id(self) -> int:
        """PUS-1 request ID (first 32 bits of the packet) of this telecommand."""
        return (_TC_WORD0 | self.apid) << 16 | _UNSEGMENTED | self.seq_count

    def pack(self, *, max_len: int = DEFAULT_MAX_PACKET_LEN) -> bytes:
        """The packet's octets, PEC included (see :func:`pack_tc`)."""
        return pack_tc(
            self.apid,
            self.seq_count,
            self.service,
            self.subtype,
            self.ack_flags,
            self.source_id,
            self.data,
            max_len=max_len,
        )


# Decoding builds the frozen dataclasses through layout-identical mutable twins: allocate a
# twin, store its slots directly, then reassign its class (``__class__`` assignment between
# classes with identical ``__slots__`` and base is part of CPython's data model). A frozen
# dataclass's own __init__ goes through object.__setattr__ once per field and costs ~5x more,
# which would be most of a decode. The check below keeps the twins in step with the fields.
@dataclass(slots=True, eq=False, repr=False, match_args=False)
class _TmTwin:
    apid: int
    seq_count: int
    service: int
    subtype: int
    msg_counter: int
    dest_id: int
    time: bytes
    data: bytes
    time_ref: int


@dataclass(slots=True, eq=False, repr=False, match_args=False)
class _TcTwin:
    apid: int
    seq_count: int
    service: int
    subtype: int
    ack_flags: int
    source_id: int
    data: bytes


if _TmTwin.__slots__ != TmPacket.__slots__ or _TcTwin.__slots__ != TcPacket.__slots__:
    raise ImportError("flight.tmtc: decode twins out of step with TmPacket/TcPacket fields")


class TcHeader(NamedTuple):
    """What can be read from a telecommand's headers before it is validated (for PUS-1)."""

    apid: int
    seq_count: int
    service: int
    subtype: int
    ack_flags: int
    #: The first 32 bits of the packet (version, type, flag, APID, seq flags, seq count), as
    #: echoed in PUS-1 verification reports.
    request_id: int


def _pack_fail(kind: str, total: int, max_len: int, fields: dict[str, int]) -> NoReturn:
    if total > min(max_len, ABSOLUTE_MAX_PACKET_LEN):
        limit = min(max_len, ABSOLUTE_MAX_PACKET_LEN)
        _fail(WireReason.OVERSIZED, f"{kind} packet of {total} octets exceeds {limit} octets")
    _fail(WireReason.FIELD_RANGE, f"{kind} field out of range: {fields}")


def pack_tm(
    apid: int,
    seq_count: int,
    service: int,
    subtype: int,
    msg_counter: int,
    dest_id: int,
    time_bytes: BytesLike,
    data: BytesLike,
    time_ref: int = 0,
    *,
    max_len: int = DEFAULT_MAX_PACKET_LEN,
) -> bytes:
    """Encode a PUS-C TM packet, PEC included, without allocating a :class:`TmPacket`.

    The downlink hot path. Field widths as in :class:`TmPacket`; ``time_bytes`` is the
    encoded time field, ``data`` the source data. Raises :class:`WireError` with reason
    ``field_range`` for a value that does not fit, ``oversized`` if the packet would exceed
    ``max_len`` octets.
    """
    if PACK_TM_C is not None:
        packet = PACK_TM_C(
            apid, seq_count, service, subtype, msg_counter, dest_id, time_bytes, data, time_ref,
            max_len,
        )  # fmt: skip
        if packet is not None:
            return packet
    return _pack_tm_reference(
        apid, seq_count, service, subtype, msg_counter, dest_id, time_bytes, data, time_ref,
        max_len,
    )  # fmt: skip


def _pack_tm_reference(
    apid: int,
    seq_count: int,
    service: int,
    subtype: int,
    msg_counter: int,
    dest_id: int,
    time_bytes: BytesLike,
    data: BytesLike,
    time_ref: int,
    max_len: int,
) -> bytes:
    """:func:`pack_tm` in Python: the reference encoder and the one place errors are raised."""
    total = TM_OVERHEAD_LEN + len(time_bytes) + len(data)
    if apid >> 11 or seq_count >> 14 or time_ref >> 4 or total > max_len:
        _pack_fail(
            "TM", total, max_len, {"apid": apid, "seq_count": seq_count, "time_ref": time_ref}
        )
    try:
        body = (
            _TM_HEAD.pack(
                _TM_WORD0 | apid,
                _UNSEGMENTED | seq_count,
                total - 7,
                _PUS_C_NIBBLE | time_ref,
                service,
                subtype,
                msg_counter,
                dest_id,
            )
            + time_bytes
            + data
        )
    except struct.error:
        fields = {"service": service, "subtype": subtype}
        _pack_fail("TM", total, max_len, fields | {"msg_counter": msg_counter, "dest_id": dest_id})
    return body + _PEC.pack(PEC_KERNEL(body, total - PEC_LEN, CRC16_INIT, 0))


def pack_tc(
    apid: int,
    seq_count: int,
    service: int,
    subtype: int,
    ack_flags: int,
    source_id: int,
    data: BytesLike,
    *,
    max_len: int = DEFAULT_MAX_PACKET_LEN,
) -> bytes:
    """Encode a PUS-C TC packet, PEC included. Field widths as in :class:`TcPacket`.

    Raises :class:`WireError` with reason ``field_range`` or ``oversized`` like
    :func:`pack_tm`.
    """
    if PACK_TC_C is not None:
        packet = PACK_TC_C(apid, seq_count, service, subtype, ack_flags, source_id, data, max_len)
        if packet is not None:
            return packet
    return _pack_tc_reference(
        apid, seq_count, service, subtype, ack_flags, source_id, data, max_len
    )


def _pack_tc_reference(
    apid: int,
    seq_count: int,
    service: int,
    subtype: int,
    ack_flags: int,
    source_id: int,
    data: BytesLike,
    max_len: int,
) -> bytes:
    """:func:`pack_tc` in Python: the reference encoder and the one place errors are raised."""
    total = TC_OVERHEAD_LEN + len(data)
    if apid >> 11 or seq_count >> 14 or ack_flags >> 4 or total > max_len:
        _pack_fail(
            "TC", total, max_len, {"apid": apid, "seq_count": seq_count, "ack_flags": ack_flags}
        )
    try:
        body = (
            _TC_HEAD.pack(
                _TC_WORD0 | apid,
                _UNSEGMENTED | seq_count,
                total - 7,
                _PUS_C_NIBBLE | ack_flags,
                service,
                subtype,
                source_id,
            )
            + data
        )
    except struct.error:
        fields = {"service": service, "subtype": subtype, "source_id": source_id}
        _pack_fail("TC", total, max_len, fields)
    return body + _PEC.pack(PEC_KERNEL(body, total - PEC_LEN, CRC16_INIT, 0))


def _reject(buf: BytesLike, expect_tc: bool, min_len: int, max_len: int) -> NoReturn:
    """Find why ``buf`` is not a valid packet and raise; checks in :class:`WireReason` order."""
    kind = "TC" if expect_tc else "TM"
    n = len(buf)
    if n < PRIMARY_HEADER_LEN:
        _fail(WireReason.TRUNCATED, f"{kind}: {n} octets, primary header needs 6")
    w0, w1, data_len = _PRIMARY.unpack_from(buf)
    total = data_len + PRIMARY_HEADER_LEN + 1
    if total > max_len:
        _fail(WireReason.OVERSIZED, f"{kind}: packet length {total} exceeds max_len={max_len}")
    if n < total:
        _fail(WireReason.TRUNCATED, f"{kind}: {n} octets, packet length field says {total}")
    if n > total:
        _fail(WireReason.LENGTH_MISMATCH, f"{kind}: {n} octets, packet length field says {total}")
    if total < min_len:
        _fail(
            WireReason.LENGTH_MISMATCH,
            f"{kind}: packet length {total} is below the {min_len} octets of headers and PEC",
        )
    if PEC_KERNEL(bytes(buf), n, CRC16_INIT, 0):
        _fail(WireReason.CRC, f"{kind}: packet error control mismatch over {total} octets")
    if w0 >> 13:
        _fail(WireReason.BAD_VERSION, f"{kind}: packet version {w0 >> 13}, expected 0")
    if bool(w0 & 0x1000) != expect_tc:
        got = "TC" if w0 & 0x1000 else "TM"
        _fail(WireReason.BAD_TYPE, f"expected a {kind} packet, got a {got} packet")
    if not w0 & 0x0800:
        _fail(WireReason.NO_SECONDARY_HEADER, f"{kind}: secondary header flag is clear")
    if w1 >> 14 != 0b11:
        _fail(WireReason.BAD_SEQ_FLAGS, f"{kind}: sequence flags {w1 >> 14:#04b}, expected 0b11")
    if buf[PRIMARY_HEADER_LEN] >> 4 != PUS_VERSION_C:
        version = buf[PRIMARY_HEADER_LEN] >> 4
        _fail(WireReason.BAD_PUS_VERSION, f"{kind}: PUS version {version}, expected 2 (PUS-C)")
    raise AssertionError(f"{kind} decoder rejected a packet with no fault")  # pragma: no cover


def unpack_tm(buf: BytesLike, time_len: int, *, max_len: int = DEFAULT_MAX_PACKET_LEN) -> TmPacket:
    """Decode exactly one PUS-C TM packet occupying all of ``buf``.

    ``time_len`` is the mission's time field length in octets (P-field included if sent).
    Raises :class:`WireError` (a :class:`~flight.tmtc.WireReason`; ``CrcError`` for a bad PEC)
    for any malformed input, and ``ValueError`` only for a negative ``time_len``.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n >= _TM_HEAD_LEN and time_len >= 0:
        w0, w1, data_len, b6, service, subtype, counter, dest = _TM_HEAD.unpack_from(buf)
        if (
            data_len + 7 == n
            and n <= max_len
            and n >= TM_OVERHEAD_LEN + time_len
            and (w0 & 0xF800) == _TM_WORD0
            and w1 >= _UNSEGMENTED
            and (b6 & 0xF0) == _PUS_C_NIBBLE
        ):
            if PEC_KERNEL(buf, n, CRC16_INIT, 0):
                _fail(WireReason.CRC, f"TM: packet error control mismatch over {n} octets")
            t = _TM_HEAD_LEN + time_len
            packet = _new(_TmTwin)
            packet.apid = w0 & 0x07FF
            packet.seq_count = w1 & 0x3FFF
            packet.service = service
            packet.subtype = subtype
            packet.msg_counter = counter
            packet.dest_id = dest
            packet.time = buf[_TM_HEAD_LEN:t]
            packet.data = buf[t:-PEC_LEN]
            packet.time_ref = b6 & 0x0F
            packet.__class__ = TmPacket  # type: ignore[assignment]
            return packet  # type: ignore[return-value]
    if time_len < 0:
        raise ValueError(f"time_len must be >= 0 octets, got {time_len}")
    _reject(buf, False, TM_OVERHEAD_LEN + time_len, max_len)


def unpack_tc(buf: BytesLike, *, max_len: int = DEFAULT_MAX_PACKET_LEN) -> TcPacket:
    """Decode exactly one PUS-C TC packet occupying all of ``buf``.

    Raises :class:`WireError` (a :class:`~flight.tmtc.WireReason`; ``CrcError`` for a bad PEC)
    for any malformed input and nothing else. When it raises, :func:`peek_tc_header` tells
    whether a PUS-1 acceptance failure report can still be addressed.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n >= _TC_HEAD_LEN:
        w0, w1, data_len, b6, service, subtype, source = _TC_HEAD.unpack_from(buf)
        if (
            data_len + 7 == n
            and n <= max_len
            and n >= TC_OVERHEAD_LEN
            and (w0 & 0xF800) == _TC_WORD0
            and w1 >= _UNSEGMENTED
            and (b6 & 0xF0) == _PUS_C_NIBBLE
        ):
            if PEC_KERNEL(buf, n, CRC16_INIT, 0):
                _fail(WireReason.CRC, f"TC: packet error control mismatch over {n} octets")
            packet = _new(_TcTwin)
            packet.apid = w0 & 0x07FF
            packet.seq_count = w1 & 0x3FFF
            packet.service = service
            packet.subtype = subtype
            packet.ack_flags = b6 & 0x0F
            packet.source_id = source
            packet.data = buf[_TC_HEAD_LEN:-PEC_LEN]
            packet.__class__ = TcPacket  # type: ignore[assignment]
            return packet  # type: ignore[return-value]
    _reject(buf, True, TC_OVERHEAD_LEN, max_len)


def peek_tc_header(buf: BytesLike) -> TcHeader | None:
    """Read a telecommand's header fields without validating the packet, for PUS-1 reports.

    Returns a :class:`TcHeader` when ``buf`` holds at least the 11 header octets and the
    primary header says version 0, telecommand, secondary header present; otherwise ``None``
    (the bytes cannot be attributed to a PUS telecommand). Nothing else is checked: length,
    sequence flags, PUS version and PEC may all be wrong, which is exactly when a failure
    report is needed. Never raises for bytes-like input.
    """
    if len(buf) < _TC_HEAD_LEN:
        return None
    w0, w1, _, b6, service, subtype, _ = _TC_HEAD.unpack_from(buf)
    if (w0 & 0xF800) != _TC_WORD0:
        return None
    return TcHeader(w0 & 0x07FF, w1 & 0x3FFF, service, subtype, b6 & 0x0F, w0 << 16 | w1)
