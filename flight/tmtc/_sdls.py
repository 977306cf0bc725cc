"""Space Data Link Security (CCSDS 355.0-B-2) on TC transfer frames: security header and
trailer, authentication and authenticated encryption, anti-replay.

A secured TC frame (:mod:`flight.tmtc._tcframe`)::

    primary header (5) | segment header (1) | SPI (2) | IV (iv_len) | ARSN (arsn_len)
    | pad length (0) | frame data (encrypted under AEAD) | MAC (16) | FECF (2)

Security association parameters, chosen here (the dictionary exports them, ``satnode dict``):

==============================  ==============================  ==============================
parameter                       authentication SAs              authenticated encryption SAs
==============================  ==============================  ==============================
algorithm                       AES-256-CMAC or HMAC-SHA-256    AES-256-GCM
SPI                             2 octets (355.0 fixed length)   2 octets
IV                              none                            12 octets, used as the counter
ARSN                            4 octets                        none (the IV is the counter)
pad length field                0 octets                        0 octets (GCM needs no padding)
MAC                             16 octets (HMAC truncated)      16 octets (the GCM tag)
overhead                        22 octets                       30 octets (as Yamcs)
==============================  ==============================  ==============================

Why: 16-octet MACs and a 12-octet GCM IV are what NASA CryptoLib and Yamcs use; CMAC and
HMAC-SHA-256 need no IV, so their SAs carry an explicit 4-octet ARSN (2^32 frames: 136 years
at one frame a second before a re-key is forced); GCM is a stream mode, so no padding and no
pad length field.

Authenticated region (355.0 4.2.2.3): the primary header ANDed with :data:`TC_HEADER_MASK`
(every field except the frame sequence number, which a COP-1 sender may rewrite; the ARSN
orders frames instead), the segment header, the security header, then (authentication only)
the frame data. Under GCM the masked headers and the security header are the additional
authenticated data and the frame data is the encrypted plaintext. The MAC and the FECF are
outside the region.

Anti-replay (355.0 4.2.5): a frame is accepted only if its sequence number ``n`` satisfies
``last < n <= last + window`` (default window 10). ``n == last`` is an exact replay and is
rejected (unlike Yamcs). When ``last`` reaches the largest value the field holds, every frame
is refused until the SA is re-keyed: the counter never wraps.

Verification (:func:`verify_frame`) runs cheapest first: framing, spacecraft id, FECF, SPI,
SA state, virtual channel, window, and only then the MAC. It changes nothing: the caller
advances the window (:meth:`ReplayWindow.accept`) after persisting the new value.
"""

from __future__ import annotations

import enum
import hmac as _stdlib_hmac
import struct
from dataclasses import dataclass
from typing import Any, Final, NoReturn, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flight.tmtc._crc import BytesLike
from flight.tmtc._tcframe import (
    FECF_LEN,
    MAX_TC_FRAME_LEN,
    SEGMENT_HEADER_LEN,
    TC_FRAME_HEADER_LEN,
    pack_tc_frame,
    pack_tc_frame_header,
    unpack_tc_frame,
)
from native.errors import WireError

__all__ = [
    "ARSN_LEN",
    "DEFAULT_WINDOW",
    "GCM_IV_LEN",
    "KEY_LEN",
    "MAC_LEN",
    "SEGMENT_HEADER_MASK",
    "SPI_LEN",
    "TC_HEADER_MASK",
    "Algorithm",
    "MacEngine",
    "ReplayWindow",
    "SaLookup",
    "SaParams",
    "SecurityReason",
    "SecurityService",
    "VerifiedFrame",
    "max_payload",
    "protect_frame",
    "verify_frame",
]

#: Octets of the security parameter index.
SPI_LEN: Final = 2
#: Octets of every MAC (CMAC, truncated HMAC-SHA-256, GCM tag).
MAC_LEN: Final = 16
#: Octets of every key (AES-256; HMAC keys are 256 bits too).
KEY_LEN: Final = 32
#: Octets of the GCM initialisation vector (also the anti-replay counter of GCM SAs).
GCM_IV_LEN: Final = 12
#: Octets of the explicit anti-replay sequence number of authentication SAs.
ARSN_LEN: Final = 4
#: Default anti-replay window (CryptoLib's default; 355.0 "positive window").
DEFAULT_WINDOW: Final = 10
#: Authentication mask of the TC primary header: all but the frame sequence number.
TC_HEADER_MASK: Final = b"\xff\xff\xff\xff\x00"
#: Authentication mask of the segment header (authenticated whole).
SEGMENT_HEADER_MASK: Final = b"\xff"

_SPI: Final = struct.Struct(">H")


@enum.unique
class SecurityService(enum.StrEnum):
    """The SDLS service of a security association."""

    AUTHENTICATION = "authentication"
    AUTHENTICATED_ENCRYPTION = "authenticated_encryption"


@enum.unique
class Algorithm(enum.StrEnum):
    """The cryptographic algorithm of a security association (keys of :data:`KEY_LEN`)."""

    AES_256_GCM = "aes-256-gcm"
    AES_256_CMAC = "aes-256-cmac"
    HMAC_SHA_256 = "hmac-sha-256"

    @property
    def service(self) -> SecurityService:
        """The SDLS service this algorithm provides."""
        if self is Algorithm.AES_256_GCM:
            return SecurityService.AUTHENTICATED_ENCRYPTION
        return SecurityService.AUTHENTICATION


@enum.unique
class SecurityReason(enum.StrEnum):
    """Why a secured frame was rejected (the ``reason`` of the :class:`WireError`), after the
    framing reasons of :class:`~flight.tmtc.FrameReason`."""

    #: The data field is too short for the SA's security header and trailer.
    TRUNCATED = "sdls_truncated"
    #: No security association with this SPI.
    UNKNOWN_SPI = "sdls_unknown_spi"
    #: The SA exists but is not operational (stopped, unkeyed, its key not active).
    SA_NOT_OPERATIONAL = "sdls_sa_not_operational"
    #: The SA does not serve the frame's virtual channel.
    WRONG_VCID = "sdls_wrong_vcid"
    #: Sequence number at or below the last accepted one (a replay, or reordered).
    REPLAY = "sdls_replay"
    #: Sequence number beyond the window above the last accepted one.
    OUTSIDE_WINDOW = "sdls_window"
    #: The SA's counter is exhausted: re-key before it can accept anything.
    ROLLOVER = "sdls_rollover"
    #: MAC (or GCM tag) mismatch: forged, corrupted, or the wrong key.
    MAC = "sdls_mac"


def _fail(reason: SecurityReason, message: str) -> NoReturn:
    raise WireError(message, reason)


@dataclass(frozen=True, slots=True)
class SaParams:
    """The fixed parameters of one security association (what the dictionary exports).

    ``spi``: security parameter index (1..65534; 0 and 65535 are reserved by 355.0).
    ``vcid``: the TC virtual channel it serves. ``algorithm``: see :class:`Algorithm`.
    Field lengths (octets) follow from the algorithm (module docstring).
    """

    spi: int
    vcid: int
    algorithm: Algorithm

    def __post_init__(self) -> None:
        if not 1 <= self.spi <= 0xFFFE:
            raise ValueError(f"SPI {self.spi} outside 1..65534")
        if not 0 <= self.vcid <= 0x3F:
            raise ValueError(f"VCID {self.vcid} outside 0..63")
        Algorithm(self.algorithm)

    @property
    def service(self) -> SecurityService:
        """Authentication or authenticated encryption."""
        return Algorithm(self.algorithm).service

    @property
    def iv_len(self) -> int:
        """Octets of the IV field (12 for GCM, else 0)."""
        return GCM_IV_LEN if self.algorithm == Algorithm.AES_256_GCM else 0

    @property
    def arsn_len(self) -> int:
        """Octets of the explicit ARSN field (0 for GCM, whose IV is the counter)."""
        return 0 if self.algorithm == Algorithm.AES_256_GCM else ARSN_LEN

    @property
    def counter_len(self) -> int:
        """Octets of the anti-replay counter (IV or ARSN)."""
        return self.iv_len + self.arsn_len

    @property
    def counter_max(self) -> int:
        """Largest counter value; an SA that reaches it must be re-keyed."""
        return (1 << (8 * self.counter_len)) - 1

    @property
    def header_len(self) -> int:
        """Octets of the security header (SPI, IV, ARSN, pad length)."""
        return SPI_LEN + self.iv_len + self.arsn_len

    @property
    def overhead(self) -> int:
        """Octets SDLS adds to a frame (header and MAC)."""
        return self.header_len + MAC_LEN

    def describe(self) -> dict[str, Any]:
        """Plain data for the dictionary: everything a ground tool needs to build frames."""
        return {
            "spi": self.spi,
            "vcid": self.vcid,
            "service": str(self.service),
            "algorithm": str(self.algorithm),
            "key_octets": KEY_LEN,
            "spi_octets": SPI_LEN,
            "iv_octets": self.iv_len,
            "arsn_octets": self.arsn_len,
            "pad_length_octets": 0,
            "mac_octets": MAC_LEN,
            "header_mask": TC_HEADER_MASK.hex(),
            "segment_header_mask": SEGMENT_HEADER_MASK.hex(),
            "counter": "iv" if self.iv_len else "arsn",
        }


class MacEngine:
    """The keyed primitive of one SA: seals and opens frame data (the key is not kept in a
    public attribute, has no repr, and is never returned).

    ``cryptography`` (OpenSSL) does the work: AES-256-GCM through ``AESGCM``, AES-256-CMAC
    through ``cmac.CMAC``, HMAC-SHA-256 through ``hmac.HMAC`` truncated to 16 octets.
    """

    __slots__ = ("_algorithm", "_gcm", "_key")

    def __init__(self, algorithm: Algorithm, key: bytes) -> None:
        if len(key) != KEY_LEN:
            raise ValueError(f"a key has {KEY_LEN} octets, got {len(key)}")
        self._algorithm = Algorithm(algorithm)
        self._key = bytes(key)
        self._gcm = AESGCM(self._key) if self._algorithm is Algorithm.AES_256_GCM else None

    def __repr__(self) -> str:
        return f"MacEngine({self._algorithm.value}, key=<hidden>)"

    def _mac(self, data: bytes) -> bytes:
        if self._algorithm is Algorithm.AES_256_CMAC:
            c = cmac.CMAC(algorithms.AES(self._key))
            c.update(data)
            return c.finalize()
        h = crypto_hmac.HMAC(self._key, hashes.SHA256())
        h.update(data)
        return h.finalize()[:MAC_LEN]

    def seal(self, iv: bytes, aad: bytes, payload: bytes) -> tuple[bytes, bytes]:
        """``(frame data, MAC)``: GCM encrypts ``payload`` with ``aad`` authenticated; the
        authentication algorithms MAC ``aad + payload`` and leave it in clear."""
        if self._gcm is not None:
            out = self._gcm.encrypt(iv, payload, aad)
            return out[:-MAC_LEN], out[-MAC_LEN:]
        return payload, self._mac(aad + payload)

    def open(self, iv: bytes, aad: bytes, body: bytes, mac: bytes) -> bytes:
        """The plaintext frame data, or :class:`WireError` (``sdls_mac``) on a bad MAC."""
        if self._gcm is not None:
            try:
                return self._gcm.decrypt(iv, body + mac, aad)
            except InvalidTag:
                _fail(SecurityReason.MAC, "GCM tag mismatch")
        if self._algorithm is Algorithm.AES_256_CMAC:
            c = cmac.CMAC(algorithms.AES(self._key))
            c.update(aad + body)
            try:
                c.verify(mac)
            except InvalidSignature:
                _fail(SecurityReason.MAC, "CMAC mismatch")
            return body
        # HMAC truncated to 16 octets: compare in constant time.
        if not _stdlib_hmac.compare_digest(self._mac(aad + body), mac):
            _fail(SecurityReason.MAC, "HMAC mismatch")
        return body


class ReplayWindow:
    """Anti-replay state of one SA: accepts ``last < n <= last + window``, never wraps."""

    __slots__ = ("last", "maximum", "window")

    def __init__(self, last: int, window: int, maximum: int) -> None:
        if not 1 <= window <= maximum:
            raise ValueError(f"window {window} outside 1..{maximum}")
        if not 0 <= last <= maximum:
            raise ValueError(f"last sequence number {last} outside 0..{maximum}")
        self.last = last
        self.window = window
        self.maximum = maximum

    def check(self, n: int) -> None:
        """Raise :class:`WireError` (replay, window or rollover) unless ``n`` is acceptable."""
        last = self.last
        if last >= self.maximum:
            _fail(SecurityReason.ROLLOVER, "sequence number exhausted: re-key the SA")
        if n <= last:
            _fail(SecurityReason.REPLAY, f"sequence number {n} <= last accepted {last}")
        if n > last + self.window:
            _fail(
                SecurityReason.OUTSIDE_WINDOW,
                f"sequence number {n} beyond the window ({last}, {last + self.window}]",
            )

    def accept(self, n: int) -> None:
        """Advance to ``n`` (call after :meth:`check` passed and ``n`` is persisted)."""
        self.check(n)
        self.last = n


class SaLookup(Protocol):
    """What :func:`verify_frame` needs of the onboard SA table."""

    def lookup(self, spi: int) -> tuple[SaParams, MacEngine, ReplayWindow] | None:
        """The SA's parameters, keyed engine and window if it is operational; None if it is
        not; raise :class:`WireError` (``sdls_unknown_spi``) if there is no such SA."""
        ...


@dataclass(frozen=True, slots=True)
class VerifiedFrame:
    """A frame that passed every check: its SA, counter value and plaintext segment
    (segment header + user data)."""

    spi: int
    vcid: int
    seq: int
    counter: int
    segment: bytes


def _masked(header: bytes) -> bytes:
    # AND with TC_HEADER_MASK: only the frame sequence number (last octet) is masked out.
    return header[:4] + b"\x00"


def max_payload(params: SaParams) -> int:
    """Most octets of user data one secured frame of this SA carries (1,024-octet frames)."""
    return MAX_TC_FRAME_LEN - TC_FRAME_HEADER_LEN - SEGMENT_HEADER_LEN - params.overhead - FECF_LEN


def protect_frame(
    params: SaParams,
    engine: MacEngine,
    scid: int,
    seq: int,
    counter: int,
    segment: BytesLike,
) -> bytes:
    """A secured TC frame carrying ``segment`` (segment header + user data) under the SA
    ``params`` keyed by ``engine``, with anti-replay counter ``counter`` (IV for GCM, ARSN for
    authentication) and frame sequence number ``seq``. ValueError for a counter out of range
    or a segment that does not fit."""
    seg = bytes(segment)
    if not seg:
        raise ValueError("a frame carries at least the segment header")
    if not 0 <= counter <= params.counter_max:
        raise ValueError(f"counter {counter} outside 0..{params.counter_max}")
    if len(seg) - SEGMENT_HEADER_LEN > max_payload(params):
        raise ValueError(f"{len(seg) - 1} octets of user data exceed {max_payload(params)}")
    total = TC_FRAME_HEADER_LEN + len(seg) + params.overhead + FECF_LEN
    counter_bytes = counter.to_bytes(params.counter_len, "big")
    sec_header = _SPI.pack(params.spi) + counter_bytes
    # The header is authenticated as it will be sent: build it first.
    header = pack_tc_frame_header(scid, params.vcid, seq, total)
    aad = _masked(header) + seg[:1] + sec_header
    iv = counter_bytes if params.iv_len else b""
    body, mac = engine.seal(iv, aad, seg[1:])
    return pack_tc_frame(scid, params.vcid, seq, seg[:1] + sec_header + body + mac)


def verify_frame(raw: BytesLike, scid: int, sas: SaLookup) -> VerifiedFrame:
    """Check one secured TC frame completely, changing nothing (see the module docstring).

    Raises :class:`WireError` with a :class:`~flight.tmtc.FrameReason` or
    :class:`SecurityReason`; returns the :class:`VerifiedFrame` otherwise. The caller must
    persist ``counter`` and advance the SA's window before acting on the segment.
    """
    frame = unpack_tc_frame(raw, scid=scid)
    data = frame.data
    if len(data) < SEGMENT_HEADER_LEN + SPI_LEN + MAC_LEN:
        _fail(SecurityReason.TRUNCATED, f"data field of {len(data)} octets: no SDLS header")
    spi = _SPI.unpack_from(data, SEGMENT_HEADER_LEN)[0]
    entry = sas.lookup(spi)
    if entry is None:
        _fail(SecurityReason.SA_NOT_OPERATIONAL, f"SA {spi} is not operational")
    params, engine, window = entry
    if frame.vcid != params.vcid:
        _fail(SecurityReason.WRONG_VCID, f"SA {spi} serves VC {params.vcid}, not {frame.vcid}")
    head_end = SEGMENT_HEADER_LEN + params.header_len
    if len(data) < head_end + MAC_LEN:
        _fail(SecurityReason.TRUNCATED, f"data field of {len(data)} octets too short for SA {spi}")
    counter_bytes = data[SEGMENT_HEADER_LEN + SPI_LEN : head_end]
    counter = int.from_bytes(counter_bytes, "big")
    window.check(counter)  # cheap, before the MAC: a replay costs no cryptography
    aad = _masked(frame.header) + data[:head_end]
    iv = counter_bytes if params.iv_len else b""
    plain = engine.open(iv, aad, data[head_end:-MAC_LEN], data[-MAC_LEN:])
    return VerifiedFrame(spi, frame.vcid, frame.seq, counter, data[:1] + plain)
