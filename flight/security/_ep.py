"""SDLS extended procedures (CCSDS 355.1-B-1): the key and SA management PDUs.

A PDU is ``tag (1) | length (2: octets of the value, in bits as 355.1 counts) | value``.
The tag is ``type (1 bit: 0 command, 1 reply) | user flag (1 bit, 0) | service group (2) |
procedure (4)``. Management PDUs travel as the user data of TC frames under the management SA
(:data:`~flight.security.MANAGEMENT_SPI`, keyed by the management key): they are verified like
any frame before they are read. Replies go down as TM[:data:`EP_SERVICE`, 1] (the reply PDU)
and failures as TM[:data:`EP_SERVICE`, 2] (command tag u8, :class:`EpFailure` u16).

Key changes (:data:`KEY_CHANGES`) are hazardous: a management frame that carries one is run
only within the window the armed command ``security.arm_key_change`` opens, and uses it up;
without one, every PDU of the frame is refused with ``NOT_ARMED`` and nothing changes.

Values (big-endian):

=================  =====================================================================
OTAR               master key id u16, IV (12), GCM ciphertext of n x (key id u16, key 32),
                   tag (16): new keys, stored pre-active
key activation     n x key id u16 (pre-active -> active)
key deactivation   n x key id u16 (active -> deactivated)
key inventory      first id u16, last id u16 -> reply: n u16, n x (key id u16, state u8)
SA rekey           SPI u16, key id u16, new counter (16 octets)
SA start / stop    SPI u16
SA status          SPI u16 -> reply: SPI u16, state u8, key id u16, last counter (16 octets)
=================  =====================================================================
"""

from __future__ import annotations

import enum
import struct
from typing import Final

__all__ = [
    "EP_SERVICE",
    "KEY_CHANGES",
    "EpFailure",
    "Procedure",
    "pack_pdu",
    "unpack_pdus",
]

#: Mission-specific PUS service of the extended-procedure reports (TM only).
EP_SERVICE: Final = 150
_TL: Final = struct.Struct(">BH")


@enum.unique
class Procedure(enum.IntEnum):
    """Service group << 4 | procedure id (CCSDS 355.1 tables 5-1 and 5-2)."""

    OTAR = 0x01
    KEY_ACTIVATION = 0x02
    KEY_DEACTIVATION = 0x03
    KEY_INVENTORY = 0x07
    SA_REKEY = 0x16
    SA_START = 0x1B
    SA_STOP = 0x1E
    SA_STATUS = 0x1F


#: The procedures that change keys (hazardous: a wrong key locks the ground out). A
#: management frame carrying any of them runs only within an arming window opened by the
#: armed PUS command ``security.arm_key_change`` (TC[8,128] then TC[8,1]); inventory,
#: status and SA start/stop are not key changes and need no arming.
KEY_CHANGES: Final = frozenset(
    {Procedure.OTAR, Procedure.KEY_ACTIVATION, Procedure.KEY_DEACTIVATION, Procedure.SA_REKEY}
)


@enum.unique
class EpFailure(enum.IntEnum):
    """Failure codes of TM[150,2]."""

    MALFORMED = 1
    REFUSED = 2
    UNKNOWN_PROCEDURE = 3
    NOT_PERSISTED = 4
    OTAR_AUTHENTICATION = 5
    NOT_ARMED = 6  #: a key change without an open arming window (security.arm_key_change)


def pack_pdu(procedure: int, value: bytes = b"", *, reply: bool = False) -> bytes:
    """One PDU: tag, length (bits) and ``value`` (ValueError if over 8,191 octets)."""
    if len(value) > 0xFFFF // 8:
        raise ValueError(f"PDU value of {len(value)} octets exceeds 8191")
    return _TL.pack((0x80 if reply else 0) | (procedure & 0x3F), len(value) * 8) + bytes(value)


def unpack_pdus(data: bytes) -> list[tuple[int, int, bytes]]:
    """Every ``(tag, procedure, value)`` in ``data``; ValueError for a malformed PDU stream
    (truncated, a length not a whole number of octets, or a reply or user-defined tag)."""
    out = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _TL.size:
            raise ValueError("truncated PDU header")
        tag, bits = _TL.unpack_from(data, offset)
        if bits % 8:
            raise ValueError(f"PDU length {bits} bits is not whole octets")
        if tag & 0xC0:
            raise ValueError(f"tag {tag:#04x} is a reply or user-defined PDU")
        end = offset + _TL.size + bits // 8
        if end > len(data):
            raise ValueError("PDU value truncated")
        out.append((tag, tag & 0x3F, data[offset + _TL.size : end]))
        offset = end
    if not out:
        raise ValueError("no PDU")
    return out
