"""CCSDS time codes (CCSDS 301.0-B-4): CUC and CDS, to and from integer nanoseconds.

Time model
    satnode time is an integer count of nanoseconds on a uniform scale (no leap seconds).
    A format converts a caller's instant ``t_ns`` (nanoseconds since the caller's zero, e.g.
    the mission epoch) to the code's count since the code's epoch by adding
    ``epoch_offset_ns``: the caller's zero expressed in nanoseconds since the code's epoch.
    With the default offset 0, ``t_ns`` simply is nanoseconds since the code's epoch:
    1958-01-01 00:00:00 TAI (the CCSDS epoch, P-field time code ID 001 for CUC, epoch bit 0
    for CDS), or the agency-defined epoch if ``agency_epoch`` is set (ID 010 / epoch bit 1).
    :data:`CCSDS_TO_UNIX_EPOCH_NS` (4,383 days) converts a Unix-epoch count. Leap seconds and
    UTC are the time service's business, not the codec's: CDS days here are 86,400 s each, so
    a CDS millisecond-of-day of 86,400,000 or more (a UTC leap second) is rejected on decode.

CUC (unsegmented code)
    ``coarse_octets`` (1-7) of whole seconds and ``fine_octets`` (0-10) of binary fraction,
    resolution ``2**-(8*fine_octets)`` s (15.26 us for the default 4 + 2). A P-field of one
    octet (two when coarse > 4 or fine > 3: the extension octet) precedes the T-field if
    ``p_field`` is set. Encoding truncates toward the past; decoding returns the earliest
    nanosecond that encodes to the code, so ``encode(decode(code)) == code`` for fine <= 3
    and ``decode(encode(t)) == t`` exactly for fine >= 4; in general
    ``0 <= t - decode(encode(t)) < resolution``.

CDS (day segmented code)
    ``day_octets`` (2, "CDS short", or 3) of days since the epoch, 4 octets of milliseconds of
    day, and an optional sub-millisecond segment: ``submillis_octets`` 0 (none), 2
    (microseconds of millisecond, 0-999) or 4 (picoseconds of millisecond). Resolution 1 ms,
    1 us or 1 ns (sub-nanosecond picoseconds are truncated on decode). Optional one-octet
    P-field ``0b0100_EDSS``. Encoding truncates toward the past; ``decode(encode(t))`` is
    ``t`` floored to the resolution.

Decoders take exactly the code's octets and raise :class:`~native.errors.WireError`
(``truncated``, ``length_mismatch``, ``bad_time_code``); encoders raise it with
``field_range`` for an instant the code cannot hold (before the epoch, past the last count).
A format with unsupported octet counts is a :class:`~native.errors.ConfigError`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Final

from flight.tmtc._crc import BytesLike
from flight.tmtc._spacepacket import WireReason, _fail
from native.errors import ConfigError

__all__ = [
    "CCSDS_TO_UNIX_EPOCH_NS",
    "CDS_SHORT",
    "CUC_4_2",
    "MS_PER_DAY",
    "NS_PER_DAY",
    "NS_PER_MS",
    "NS_PER_S",
    "CdsFormat",
    "CucFormat",
]

NS_PER_S: Final = 1_000_000_000
NS_PER_MS: Final = 1_000_000
NS_PER_DAY: Final = 86_400 * NS_PER_S
MS_PER_DAY: Final = 86_400_000
#: 1958-01-01 to 1970-01-01 in nanoseconds: 4,383 days of 86,400 s (no leap seconds).
CCSDS_TO_UNIX_EPOCH_NS: Final = 4383 * NS_PER_DAY

_CUC_CCSDS_ID: Final = 0b001
_CUC_AGENCY_ID: Final = 0b010
_CDS_ID: Final = 0b100
_CDS_SUBMS_CODE: Final = {0: 0b00, 2: 0b01, 4: 0b10}


def _check_length(kind: str, buf: BytesLike, expected: int) -> None:
    n = len(buf)
    if n < expected:
        _fail(WireReason.TRUNCATED, f"{kind}: {n} octets, the code has {expected}")
    if n > expected:
        _fail(WireReason.LENGTH_MISMATCH, f"{kind}: {n} octets, the code has {expected}")


@dataclass(frozen=True, slots=True)
class CucFormat:
    """A CCSDS Unsegmented time Code layout; encodes/decodes integer nanoseconds (see module)."""

    coarse_octets: int = 4
    fine_octets: int = 2
    p_field: bool = True
    agency_epoch: bool = False
    epoch_offset_ns: int = 0
    _pbytes: bytes = field(init=False, repr=False, compare=False)
    _fbits: int = field(init=False, repr=False, compare=False)
    _max_code: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        c, f = self.coarse_octets, self.fine_octets
        if not (1 <= c <= 7 and 0 <= f <= 10):
            raise ConfigError(f"CUC needs 1-7 coarse and 0-10 fine octets, got {c} and {f}")
        code_id = _CUC_AGENCY_ID if self.agency_epoch else _CUC_CCSDS_ID
        if c <= 4 and f <= 3:
            pfield = bytes([code_id << 4 | (c - 1) << 2 | f])
        else:  # extension octet: additional coarse (bits 6-5) and fine (bits 4-2) octets
            basic_c, basic_f = min(c, 4), min(f, 3)
            pfield = bytes(
                [
                    0x80 | code_id << 4 | (basic_c - 1) << 2 | basic_f,
                    (c - basic_c) << 5 | (f - basic_f) << 2,
                ]
            )
        object.__setattr__(self, "_pbytes", pfield if self.p_field else b"")
        object.__setattr__(self, "_fbits", 8 * f)
        object.__setattr__(self, "_max_code", (NS_PER_S << (8 * c)) - 1)

    @classmethod
    def from_p_field(cls, p_field: BytesLike, *, epoch_offset_ns: int = 0) -> CucFormat:
        """The format (with ``p_field=True``) that a received CUC P-field (1 or 2 octets, or a
        whole code: only the P-field is read) describes. Raises :class:`WireError`
        (``truncated``, ``bad_time_code``) if it is not a supported CUC P-field."""
        if len(p_field) < 1:
            _fail(WireReason.TRUNCATED, "CUC P-field: no octets")
        first = p_field[0]
        code_id = (first >> 4) & 0b111
        if code_id not in (_CUC_CCSDS_ID, _CUC_AGENCY_ID):
            _fail(WireReason.BAD_TIME_CODE, f"P-field {first:#04x} is not a CUC code")
        c, f = ((first >> 2) & 0b11) + 1, first & 0b11
        if first & 0x80:
            if len(p_field) < 2:
                _fail(WireReason.TRUNCATED, "CUC P-field: extension octet missing")
            second = p_field[1]
            add_c, add_f = (second >> 5) & 0b11, (second >> 2) & 0b111
            if second & 0x83 or (add_c == 0 and add_f == 0) or (add_c and c != 4):
                _fail(WireReason.BAD_TIME_CODE, f"unsupported CUC P-field extension {second:#04x}")
            if add_f and f != 3:
                _fail(WireReason.BAD_TIME_CODE, f"unsupported CUC P-field extension {second:#04x}")
            c, f = c + add_c, f + add_f
        return cls(c, f, True, code_id == _CUC_AGENCY_ID, epoch_offset_ns)

    @property
    def length(self) -> int:
        """Octets of an encoded time, P-field included."""
        return len(self._pbytes) + self.coarse_octets + self.fine_octets

    @property
    def p_field_bytes(self) -> bytes:
        """The P-field this format writes and expects (empty without ``p_field``)."""
        return self._pbytes

    @property
    def resolution_ns(self) -> float:
        """Size of one fine-time step in nanoseconds (1e9 for no fine octets)."""
        return NS_PER_S / (1 << self._fbits)

    @property
    def max_ns(self) -> int:
        """Largest encodable ``t_ns`` (the smallest is ``-epoch_offset_ns``)."""
        return self._max_code - self.epoch_offset_ns

    def encode(self, t_ns: int) -> bytes:
        """The code for instant ``t_ns`` (int nanoseconds since the caller's zero)."""
        code = operator.index(t_ns) + self.epoch_offset_ns
        if code < 0 or code > self._max_code:
            _fail(
                WireReason.FIELD_RANGE,
                f"CUC {self.coarse_octets}+{self.fine_octets} cannot hold t_ns={t_ns}",
            )
        secs, rem = divmod(code, NS_PER_S)
        fbits = self._fbits
        value = secs << fbits | (rem << fbits) // NS_PER_S
        return self._pbytes + value.to_bytes(self.coarse_octets + self.fine_octets, "big")

    def decode(self, buf: BytesLike) -> int:
        """Instant in nanoseconds since the caller's zero: the earliest one that encodes to
        ``buf``. ``buf`` holds exactly :attr:`length` octets."""
        _check_length("CUC", buf, self.length)
        lp = len(self._pbytes)
        if lp and bytes(buf[:lp]) != self._pbytes:
            _fail(
                WireReason.BAD_TIME_CODE,
                f"CUC P-field {bytes(buf[:lp]).hex()}, expected {self._pbytes.hex()}",
            )
        value = int.from_bytes(buf[lp:], "big")
        fbits = self._fbits
        fine = value & ((1 << fbits) - 1)
        # ceil(fine * 1e9 / 2**fbits): the earliest nanosecond whose truncation is ``fine``.
        return (value >> fbits) * NS_PER_S - ((-fine * NS_PER_S) >> fbits) - self.epoch_offset_ns


@dataclass(frozen=True, slots=True)
class CdsFormat:
    """A CCSDS Day Segmented time code layout; encodes/decodes integer nanoseconds (see module)."""

    day_octets: int = 2
    submillis_octets: int = 0
    p_field: bool = True
    agency_epoch: bool = False
    epoch_offset_ns: int = 0
    _pbytes: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.day_octets not in (2, 3) or self.submillis_octets not in _CDS_SUBMS_CODE:
            raise ConfigError(
                f"CDS needs 2 or 3 day octets and 0, 2 or 4 sub-millisecond octets, "
                f"got {self.day_octets} and {self.submillis_octets}"
            )
        pfield = (
            _CDS_ID << 4
            | self.agency_epoch << 3
            | (self.day_octets == 3) << 2
            | _CDS_SUBMS_CODE[self.submillis_octets]
        )
        object.__setattr__(self, "_pbytes", bytes([pfield]) if self.p_field else b"")

    @classmethod
    def from_p_field(cls, p_field: BytesLike, *, epoch_offset_ns: int = 0) -> CdsFormat:
        """The format (with ``p_field=True``) that a received CDS P-field octet (or a whole
        code: only the first octet is read) describes. Raises :class:`WireError` otherwise."""
        if len(p_field) < 1:
            _fail(WireReason.TRUNCATED, "CDS P-field: no octets")
        p = p_field[0]
        if p & 0x80 or (p >> 4) & 0b111 != _CDS_ID or p & 0b11 == 0b11:
            _fail(WireReason.BAD_TIME_CODE, f"P-field {p:#04x} is not a supported CDS code")
        submillis = {0b00: 0, 0b01: 2, 0b10: 4}[p & 0b11]
        return cls(3 if p & 0b100 else 2, submillis, True, bool(p & 0b1000), epoch_offset_ns)

    @property
    def length(self) -> int:
        """Octets of an encoded time, P-field included."""
        return len(self._pbytes) + self.day_octets + 4 + self.submillis_octets

    @property
    def p_field_bytes(self) -> bytes:
        """The P-field this format writes and expects (empty without ``p_field``)."""
        return self._pbytes

    @property
    def resolution_ns(self) -> int:
        """1,000,000 (ms), 1,000 (us) or 1 (ns) depending on the sub-millisecond segment."""
        return {0: NS_PER_MS, 2: 1000, 4: 1}[self.submillis_octets]

    @property
    def max_ns(self) -> int:
        """Largest encodable ``t_ns`` (the smallest is ``-epoch_offset_ns``)."""
        return (NS_PER_DAY << (8 * self.day_octets)) - 1 - self.epoch_offset_ns

    def encode(self, t_ns: int) -> bytes:
        """The code for instant ``t_ns`` (int nanoseconds since the caller's zero)."""
        code = operator.index(t_ns) + self.epoch_offset_ns
        days, rem = divmod(code, NS_PER_DAY)
        if code < 0 or days >> (8 * self.day_octets):
            _fail(
                WireReason.FIELD_RANGE,
                f"CDS with {self.day_octets} day octets cannot hold t_ns={t_ns}",
            )
        ms, sub_ns = divmod(rem, NS_PER_MS)
        s = self.submillis_octets
        if s == 2:
            sub = sub_ns // 1000  # microseconds of millisecond
        elif s == 4:
            sub = sub_ns * 1000  # picoseconds of millisecond
        else:
            sub = 0
        value = (days << 32 | ms) << (8 * s) | sub
        return self._pbytes + value.to_bytes(self.day_octets + 4 + s, "big")

    def decode(self, buf: BytesLike) -> int:
        """Instant in nanoseconds since the caller's zero. ``buf`` holds exactly :attr:`length`
        octets; a millisecond of day >= 86,400,000 or a sub-millisecond count >= 1 ms is
        ``bad_time_code``."""
        _check_length("CDS", buf, self.length)
        lp = len(self._pbytes)
        if lp and bytes(buf[:lp]) != self._pbytes:
            _fail(
                WireReason.BAD_TIME_CODE,
                f"CDS P-field {bytes(buf[:lp]).hex()}, expected {self._pbytes.hex()}",
            )
        value = int.from_bytes(buf[lp:], "big")
        sbits = 8 * self.submillis_octets
        sub = value & ((1 << sbits) - 1)
        ms = (value >> sbits) & 0xFFFFFFFF
        days = value >> (sbits + 32)
        if ms >= MS_PER_DAY:
            _fail(WireReason.BAD_TIME_CODE, f"CDS millisecond of day {ms} >= {MS_PER_DAY}")
        if sbits == 16:
            if sub >= 1000:
                _fail(WireReason.BAD_TIME_CODE, f"CDS microsecond of millisecond {sub} >= 1000")
            sub_ns = sub * 1000
        elif sbits == 32:
            if sub >= 1_000_000_000:
                _fail(WireReason.BAD_TIME_CODE, f"CDS picosecond of millisecond {sub} >= 1e9")
            sub_ns = sub // 1000
        else:
            sub_ns = 0
        return days * NS_PER_DAY + ms * NS_PER_MS + sub_ns - self.epoch_offset_ns


#: CUC with 4 coarse and 2 fine octets, P-field, CCSDS epoch (7 octets).
CUC_4_2: Final = CucFormat()
#: CDS short (16-bit day, 32-bit ms of day), P-field, CCSDS epoch (7 octets), as spacepackets'
#: ``CdsShortTimestamp`` writes it.
CDS_SHORT: Final = CdsFormat()
